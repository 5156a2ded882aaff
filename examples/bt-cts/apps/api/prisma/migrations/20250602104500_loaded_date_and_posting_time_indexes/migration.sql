-- CreateIndex
CREATE INDEX "Account_loadedDate_idx" ON "Account"("loadedDate");

-- CreateIndex
CREATE INDEX "Transaction_createdAt_idx" ON "Transaction"("createdAt");
