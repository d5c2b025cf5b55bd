const number = new Intl.NumberFormat();

export function count(n: number): string {
  return number.format(n);
}

/** "14:05" today, "3 Nov 14:05" otherwise. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

/** WhatsApp acks as ticks: pending, sent, delivered, read. */
export function ticks(ack: number): string {
  if (ack < 0) return '!';
  return ['🕓', '✓', '✓✓', '✓✓', '✓✓'][Math.min(ack, 4)] ?? '';
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
