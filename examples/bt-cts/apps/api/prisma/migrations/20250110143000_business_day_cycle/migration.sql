-- CreateEnum
CREATE TYPE "DayState" AS ENUM ('CLOSED', 'LOADING', 'OPEN', 'CLOSING', 'RECONCILING');

-- CreateTable
CREATE TABLE "DayCycle" (
    "businessDate" TIMESTAMP(3) NOT NULL,
    "state" "DayState" NOT NULL DEFAULT 'CLOSED',
    "branchesLoaded" INTEGER NOT NULL DEFAULT 0,
    "totalAccountsLoaded" INTEGER NOT NULL DEFAULT 0,
    "ledgerRecordCount" INTEGER NOT NULL DEFAULT 0,
    "openedAt" TIMESTAMP(3),
    "openedById" TEXT,
    "closedAt" TIMESTAMP(3),
    "closedById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DayCycle_pkey" PRIMARY KEY ("businessDate")
);
