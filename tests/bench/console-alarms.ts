// PLACEHOLDER (issue 9): this bench step is being written.
export async function benchAlarms(): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  throw new Error('console bench step "alarms" is not written yet');
}
