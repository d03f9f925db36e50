/** Steps of a shutdown, run in reverse order of opening; each is guarded so one failure does not skip the rest. */
export class Closers {
  private readonly steps: { name: string; close: () => unknown }[] = [];

  add(name: string, close: () => unknown): void {
    this.steps.push({ name, close });
  }

  async closeAll(report: (m: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.close();
      } catch (err) {
        report(`stopping ${step.name}: ${(err as Error).message}`);
      }
    }
  }
}
