-- CreateTable
CREATE TABLE "Account" (
    "id" TEXT NOT NULL,
    "branchCode" TEXT NOT NULL,
    "loadedDate" TIMESTAMP(3) NOT NULL,
    "accountKey" TEXT NOT NULL,
    "fullAccountNumber" TEXT NOT NULL,
    "accountName" TEXT NOT NULL,
    "openingBalance" DECIMAL(15,2) NOT NULL,
    "currentBalance" DECIMAL(15,2) NOT NULL,
    "heldBalance" DECIMAL(15,2) NOT NULL,
    "deposits" DECIMAL(15,2) NOT NULL,
    "loans" DECIMAL(15,2) NOT NULL,
    "liens" DECIMAL(15,2) NOT NULL,
    "operationRestrictions" TEXT,
    "markers" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Account_accountKey_branchCode_loadedDate_key" ON "Account"("accountKey", "branchCode", "loadedDate");

-- CreateIndex
CREATE INDEX "Account_branchCode_loadedDate_idx" ON "Account"("branchCode", "loadedDate");

-- CreateIndex
CREATE INDEX "Account_branchCode_accountKey_idx" ON "Account"("branchCode", "accountKey");

-- AddForeignKey
ALTER TABLE "Account" ADD CONSTRAINT "Account_branchCode_fkey" FOREIGN KEY ("branchCode") REFERENCES "Branch"("branchCode") ON DELETE RESTRICT ON UPDATE CASCADE;
