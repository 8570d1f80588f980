// PLACEHOLDER (issue 9): this bench step is being written.
export async function benchSearch(): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  throw new Error('console bench step "search" is not written yet');
}
