/**
 * The table `npm run bench` prints: one line per figure, its baseline from the same
 * run, the ratio, the target and whether it was met; notes follow the table.
 */
import { describeTarget, type BenchResult } from '../types';

interface RecordLike {
  name: string;
  durationMs: number;
  loadAverageBefore: [number, number, number];
  loadAverageAfter: [number, number, number];
  results: BenchResult[];
  error?: string;
}

/** 12,345 · 123 · 12.3 · 1.23 · 0.123 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function withUnit(value: number | null | undefined, unit: string): string {
  const text = formatNumber(value);
  return text === '-' ? text : `${text} ${unit}`;
}

const HEADERS = ['figure', 'value', 'baseline', 'ratio', 'target', 'result'];

export function formatTable(records: readonly RecordLike[]): string {
  const rows: string[][] = [];
  const sections: Array<{ at: number; title: string }> = [];
  const notes: string[] = [];
  for (const record of records) {
    const baselines = [...new Set(record.results.map((r) => r.baseline?.label).filter((l): l is string => l !== undefined))];
    sections.push({
      at: rows.length,
      title:
        `${record.name} (${(record.durationMs / 1000).toFixed(0)} s, load average ${record.loadAverageBefore[0]} → ${record.loadAverageAfter[0]})` +
        (baselines.length > 0 ? `; baselines: ${baselines.join('; ')}` : ''),
    });
    if (record.error !== undefined) {
      rows.push([`(${record.name} failed: ${record.error.split('\n')[0]})`, '', '', '', '', 'error']);
      continue;
    }
    for (const result of record.results) {
      let mark = '';
      if (result.note) {
        notes.push(`${result.id}: ${result.note}`);
        mark = ` [${notes.length}]`;
      }
      rows.push([
        result.figure + mark,
        withUnit(result.value, result.unit),
        result.baseline ? withUnit(result.baseline.value, result.unit) : '',
        result.ratio === undefined || result.ratio === null ? '' : `${formatNumber(result.ratio)}×`,
        describeTarget(result.target, result.unit),
        result.status,
      ]);
    }
  }

  const widths = HEADERS.map((header, col) => Math.max(header.length, ...rows.map((row) => row[col]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ').trimEnd();
  const out: string[] = [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((row, index) => {
    for (const section of sections) if (section.at === index) out.push(`${index === 0 ? '' : '\n'}${section.title}`);
    out.push(line(row));
  });
  for (const section of sections) if (section.at === rows.length) out.push(`\n${section.title}`);
  if (notes.length > 0) out.push('', ...notes.map((note, i) => `[${i + 1}] ${note}`));
  return out.join('\n');
}
