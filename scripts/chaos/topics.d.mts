/** Types of scripts/chaos/topics.mjs for the TypeScript tests. */
export interface OutboxLogRow {
  id: number | string;
  topic: string;
  message_key: string;
  event_id: string;
  available_at: Date | string;
}
export declare function readTopics(brokers: string, topics: string[], timeoutMs?: number): Promise<Map<string, Map<string, string[]>>>;
export declare function checkOutboxOrder(
  rows: OutboxLogRow[],
  onKafka: Map<string, Map<string, string[]>>,
): { pairs: number; violations: Array<{ topic: string; key: string; first: string; second: string }>; missing: number };
export declare function groupLag(brokers: string, groupId: string, topic: string): Promise<number>;
