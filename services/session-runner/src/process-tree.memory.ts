import { readdirSync, readFileSync } from 'node:fs';

/**
 * Resident memory of this process and every descendant, in MiB. whatsapp-web.js runs Chromium as
 * child processes, where most of a session's memory lives, so the runner's own RSS understates its
 * load. Linux /proc; elsewhere the runner's own RSS.
 */
export function processTreeRssMb(rootPid = process.pid): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return process.memoryUsage().rss / 2 ** 20;
  }
  const children = new Map<number, number[]>();
  const rssKb = new Map<number, number>();
  for (const name of pids) {
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const pid = Number(name);
      rssKb.set(pid, rss);
      const list = children.get(ppid) ?? [];
      list.push(pid);
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  let totalKb = 0;
  const stack = [rootPid];
  const seen = new Set<number>();
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    totalKb += rssKb.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return totalKb > 0 ? totalKb / 1024 : process.memoryUsage().rss / 2 ** 20;
}
