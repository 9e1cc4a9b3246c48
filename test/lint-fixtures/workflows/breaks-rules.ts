// Breaks every lint rule on purpose; test/unit/lint.test.ts checks that ESLint reports each one.
import { readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { sleep } from '@temporalio/workflow';

export async function breaksRules(): Promise<string> {
  sleep(1000);
  const value: any = process.env.HOME;
  return `${readFileSync('/etc/hostname', 'utf8')} ${String(Context)} ${String(value)} ......................................................................................................................................`;
}
