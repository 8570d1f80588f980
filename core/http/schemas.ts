import { Type, type TSchema } from 'typebox';

/** Schemas shared by every feature's routes. */
export const ErrorResponse = Type.Object({
  error: Type.String({ description: 'HTTP category: bad_request, not_found, conflict, …' }),
  code: Type.String({ description: 'Stable code of what went wrong (device.code_taken, validation.minLength, …); the web app words it in the user\'s language.' }),
  message: Type.String({ description: 'English wording, for scripts and logs.' }),
  params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
  field: Type.Optional(Type.String({ description: 'The input at fault, as the request spelt it.' })),
}, { $id: 'ErrorResponse' });

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });

export const Paging = {
  page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
  pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
};

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() });
}

/** Standard error responses for `response:` so OpenAPI documents them. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorResponse]));

/** A union of string literals with its type kept (TypeBox's Union over a mapped array loses it). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A timestamp: Date in the domain, ISO 8601 string on the wire. */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
export const NullableDateTime = Type.Unsafe<Date | string | null>({ anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] });
