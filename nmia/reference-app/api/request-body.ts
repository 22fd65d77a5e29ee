import type { IncomingMessage } from 'node:http';
import { HttpError } from '../shared/http-error.ts';

const MAX_BODY_BYTES = 64 * 1024;
const UUID = /^(?:urn:uuid:)?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

type FieldType = 'string' | 'string?';

/** Request validation the way FastAPI + pydantic v2 answer it: 422 `{"detail": [{type, loc, msg, input}]}`. */
export class RequestBody {
  /** A JSON object body with the given fields (pydantic model semantics: extra keys ignored, no coercion to string). */
  static async model(req: IncomingMessage, fields: Record<string, FieldType>): Promise<Record<string, unknown>> {
    const text = await RequestBody.read(req);
    if (text.trim() === '') throw RequestBody.invalid([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
    // FastAPI parses JSON only when there is no content-type or it is */json or */*+json; else the raw text is validated.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== '' && !/^application\/(?:json|[^/]*\+json)$/.test(type)) {
      throw RequestBody.invalid([
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: text,
        },
      ]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw RequestBody.invalid([
        { type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: (error as Error).message } },
      ]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw RequestBody.invalid([
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: parsed,
        },
      ]);
    }
    const body = parsed as Record<string, unknown>;
    const errors: unknown[] = [];
    for (const [name, type] of Object.entries(fields)) {
      const value = body[name];
      if (value === undefined) {
        if (type === 'string') errors.push({ type: 'missing', loc: ['body', name], msg: 'Field required', input: body });
      } else if (typeof value !== 'string' && !(type === 'string?' && value === null)) {
        errors.push({ type: 'string_type', loc: ['body', name], msg: 'Input should be a valid string', input: value });
      }
    }
    if (errors.length > 0) throw RequestBody.invalid(errors);
    return body;
  }

  /** A path or query UUID, lower-case and hyphenated, or 422 `uuid_parsing`. */
  static uuid(name: string, value: string | undefined, where: 'path' | 'query' = 'path'): string {
    const match = UUID.exec(value ?? '');
    if (!match) {
      throw RequestBody.invalid([{ type: 'uuid_parsing', loc: [where, name], msg: 'Input should be a valid UUID', input: value ?? null }]);
    }
    return match.slice(1, 6).join('-').toLowerCase();
  }

  static queryInt(url: URL, name: string, fallback: number, min: number, max: number): number {
    const raw = url.searchParams.get(name);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()))
      throw RequestBody.invalid([
        {
          type: 'int_parsing',
          loc: ['query', name],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: raw,
        },
      ]);
    if (value < min)
      throw RequestBody.invalid([
        { type: 'greater_than_equal', loc: ['query', name], msg: `Input should be greater than or equal to ${min}`, input: raw },
      ]);
    if (value > max)
      throw RequestBody.invalid([
        { type: 'less_than_equal', loc: ['query', name], msg: `Input should be less than or equal to ${max}`, input: raw },
      ]);
    return value;
  }

  private static invalid(detail: unknown[]): HttpError {
    return new HttpError(422, 'validation_error', 'Unprocessable Content', {}, { detail });
  }

  private static async read(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', 'Request Entity Too Large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
