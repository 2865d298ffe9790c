/** Types of scripts/chaos/bodies.mjs for the TypeScript tests. */
export interface GeneratedRequest {
  body: string;
  headers: Record<string, string>;
  valid: boolean;
  what: string;
}
export declare function generateRequests(n: number, seed?: number): GeneratedRequest[];
