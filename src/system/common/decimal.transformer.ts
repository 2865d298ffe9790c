import type { ValueTransformer } from 'typeorm';

/** DECIMAL columns as numbers (amounts here stay far below 2^53 cents). */
export const decimalTransformer: ValueTransformer = { to: (v: number) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };

/** Sum of price × quantity, computed in cents so that 0.1 + 0.2 stays 0.30. */
export function lineTotal(lines: ReadonlyArray<{ unitPrice: number; quantity: number }>): number {
  return lines.reduce((cents, l) => cents + Math.round(l.unitPrice * 100) * l.quantity, 0) / 100;
}
