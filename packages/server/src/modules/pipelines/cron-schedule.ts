import { CairnError } from '@cairn/contract';
import cronParser from 'cron-parser';

/**
 * Five-field cron (minute hour day-of-month month day-of-week, with ranges,
 * steps, lists and names), in UTC or an IANA time zone. Seconds are not
 * offered: a schedule is for work measured in minutes or more.
 */
export function checkSchedule(cron: unknown, timezone: unknown): { cron: string; timezone: string | null } {
  if (typeof cron !== 'string' || cron.trim().split(/\s+/).length !== 5) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'cron must have five fields: minute hour day-of-month month day-of-week (e.g. "0 3 * * *" for 03:00 daily)',
      { field: 'cron' },
    );
  }
  let zone: string | null = null;
  if (timezone !== undefined && timezone !== null && timezone !== '') {
    if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
      throw new CairnError('INVALID_ARGUMENT', `timezone must be an IANA zone such as Europe/Paris or UTC`, {
        field: 'timezone',
      });
    }
    zone = timezone;
  }
  const text = cron.trim().split(/\s+/).join(' ');
  try {
    nextFireTime({ cron: text, timezone: zone, after: Date.now() });
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `cron "${text}" is not valid: ${(error as Error).message}`, {
      field: 'cron',
    });
  }
  return { cron: text, timezone: zone };
}

/** The first time strictly after `after` (epoch ms) the schedule fires. */
export function nextFireTime(input: { cron: string; timezone: string | null; after: number }): number {
  const expression = cronParser.parseExpression(input.cron, {
    currentDate: new Date(input.after),
    ...(input.timezone === null ? { utc: true } : { tz: input.timezone }),
  });
  return expression.next().getTime();
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
