// PLACEHOLDER (issue 9): this bench step is being written.
export async function benchIncidents(): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  throw new Error('console bench step "incidents" is not written yet');
}
