/** systemd's shorthands for OnCalendar; `daily` is the backup timer's default. */
const CALENDAR_SHORTHANDS = ['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually'];
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function weekdayIndex(name: string): number {
  const lower = name.toLowerCase();
  return WEEKDAYS.findIndex((day) => lower === day || lower === day.slice(0, 3));
}

/** `Mon`, `Mon,Wed`, `Mon..Fri`: weekday names (short or full), lists and forward ranges. */
function isWeekdays(token: string): boolean {
  return token.split(',').every((item) => {
    const [from, to, ...rest] = item.split('..');
    const start = weekdayIndex(from);
    return rest.length === 0 && start >= 0 && (to === undefined || weekdayIndex(to) >= start);
  });
}

/** One field of a date or time: `*` or numbers in [min, max], with lists, `a..b` ranges and `/step` repetitions. */
function isCalendarField(field: string, min: number, max: number, decimals = false): boolean {
  const number = decimals ? /^\d{1,4}(\.\d{1,6})?$/ : /^\d{1,4}$/;
  const inRange = (text: string) => number.test(text) && Number(text) >= min && Number(text) <= max;
  return field.split(',').every((item) => {
    const match = /^(\*|[\d.]+?)(?:\.\.([\d.]+))?(?:\/(\d{1,4}))?$/.exec(item);
    if (!match) return false;
    const [, start, end, step] = match;
    return (start === '*' ? end === undefined : inRange(start)) && (end === undefined || (inRange(end) && Number(end) >= Number(start))) && (step === undefined || Number(step) > 0);
  });
}

/** `Y-M-D` or `M-D`, with `~` before the day to count from the month's end. */
function isCalendarDate(token: string): boolean {
  const tilde = token.split('~');
  if (tilde.length > 2) return false;
  const parts = tilde[0].split('-');
  const day = tilde.length === 2 ? tilde[1] : parts.pop()!;
  if (parts.length === 2 && !isCalendarField(parts.shift()!, 1970, 2199)) return false;
  return parts.length === 1 && isCalendarField(parts[0], 1, 12) && isCalendarField(day, 1, 31);
}

/** `H:M` or `H:M:S` (seconds may have decimals). */
function isCalendarTime(token: string): boolean {
  const [hour, minute, second, ...rest] = token.split(':');
  return (
    rest.length === 0 &&
    minute !== undefined &&
    isCalendarField(hour, 0, 23) &&
    isCalendarField(minute, 0, 59) &&
    (second === undefined || isCalendarField(second, 0, 59, true))
  );
}

/**
 * Whether `expression` is a systemd OnCalendar expression (systemd.time(7)): a shorthand such
 * as `daily`, or `[weekdays] [date] [time]`, optionally followed by a time zone (`UTC`,
 * `Asia/Shanghai`). Checked here because a timer with a bad one never fires, silently.
 */
export function isOnCalendar(expression: string): boolean {
  const tokens = expression.split(' ');
  if (tokens.length > 1 && /^(UTC|[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+)$/.test(tokens[tokens.length - 1])) tokens.pop();
  if (tokens.length === 1 && CALENDAR_SHORTHANDS.includes(tokens[0])) return true;
  const checks = [isWeekdays, isCalendarDate, isCalendarTime];
  let next = 0;
  for (const token of tokens) {
    while (next < checks.length && !checks[next](token)) next += 1;
    if (next === checks.length) return false;
    next += 1;
  }
  return tokens.length > 0;
}
