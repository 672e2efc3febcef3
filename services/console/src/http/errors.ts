import type { ApiError, ValidationIssue } from '@pipewright/contracts';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode = ApiError['error']['code'];

/** Every error the API answers: `{error: {code, message, issues?, differences?}}`. */
export function apiError(c: Context, status: ContentfulStatusCode, code: ErrorCode | 'internal', message: string, more: { issues?: ValidationIssue[]; differences?: string[] } = {}, headers?: Record<string, string>): Response {
  return c.json({ error: { code, message, ...more } }, status, headers);
}

export const badRequest = (c: Context, message: string, issues: ValidationIssue[]) => apiError(c, 400, 'bad_request', message, { issues });
