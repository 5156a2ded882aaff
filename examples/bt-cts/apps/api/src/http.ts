/**
 * Small Express helpers shared by the routes: Express 4 does not catch a rejected promise from
 * an async handler (the process would die of an unhandled rejection), so every handler goes
 * through `handle`, which hands the error to the app's error handler.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function handle(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}

/** One JSON object per event (the server's log). */
export type Log = (event: Record<string, unknown>) => void;
