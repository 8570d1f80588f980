// PLACEHOLDER (issue 9): this bench step is being written.
export async function benchWall(): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  throw new Error('console bench step "wall" is not written yet');
}
