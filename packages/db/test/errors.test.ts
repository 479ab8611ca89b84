import { describe, expect, it } from 'vitest';
import { DbError, isDbError, isDbUnavailable } from '../src/index.js';

describe('isDbUnavailable', () => {
  it('is true for connection failures (SQLSTATE, socket code, or the driver messages that carry no code)', () => {
    const down = [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
    ];
    for (const error of down) expect(isDbUnavailable(error), error.message).toBe(true);
  });

  it('is false for query errors, our own errors and non-errors', () => {
    const fine = [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      new DbError('DB_JOB_NOT_FOUND', 'Job x does not exist'),
      new Error('syntax error at or near "SELEC"'),
      undefined,
      'Connection terminated',
    ];
    for (const error of fine) expect(isDbUnavailable(error), String(error)).toBe(false);
    expect(isDbError(fine[1], 'DB_JOB_NOT_FOUND')).toBe(true);
  });
});
