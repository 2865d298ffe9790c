/** Sum of price × quantity, computed in cents so that 0.1 + 0.2 stays 0.30. */
export function lineTotal(lines: ReadonlyArray<{ unitPrice: number; quantity: number }>): number {
  return lines.reduce((cents, l) => cents + Math.round(l.unitPrice * 100) * l.quantity, 0) / 100;
}
