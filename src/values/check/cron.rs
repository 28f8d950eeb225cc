//! Cron schedules as CloudNativePG reads `ScheduledBackup.spec.schedule`: robfig/cron with a
//! seconds field first (six fields), or a descriptor such as `@daily` or `@every 1h`.
//!
//! A five-field Unix schedule is the classic mistake: CloudNativePG reads its first field as
//! seconds, so `0 3 * * *` means "at second 0 of minute 3 of every hour of every day...", not
//! 03:00. cnpgtp refuses it and says what was probably meant.

/// (name, lowest, highest, names for the values starting at `lowest`).
const FIELDS: [(&str, u32, u32, &[&str]); 6] = [
    ("seconds", 0, 59, &[]),
    ("minutes", 0, 59, &[]),
    ("hours", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of week",
        0,
        6,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Whether `text` is a duration Go's `time.ParseDuration` reads (what robfig/cron v1.2.0 gives
/// the rest of `@every `): an optional sign, then `0` or numbers (`1`, `1.5`, `.5`) each with a
/// unit `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m` or `h`.
fn is_parse_duration(text: &str) -> bool {
    let rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    if rest == "0" {
        return true;
    }
    let mut rest = rest;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let digits = &rest[..number];
        if !digits.bytes().any(|b| b.is_ascii_digit())
            || digits.bytes().filter(|b| *b == b'.').count() > 1
        {
            return false;
        }
        rest = &rest[number..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !["ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "m", "h"].contains(&&rest[..unit]) {
            return false;
        }
        rest = &rest[unit..];
    }
    true
}

/// Why `schedule` is not a schedule CloudNativePG accepts, if it is not: robfig/cron v1.2.0
/// `Parse` (`parser.go`), which `ScheduledBackupCustomValidator.validate` calls
/// (`internal/webhook/v1/scheduledbackup_webhook.go`, CloudNativePG v1.30.0). A descriptor is
/// recognised only when the schedule starts with `@`, and only as written (lower case).
pub fn schedule_problem(schedule: &str) -> Option<String> {
    let text = schedule.trim();
    if let Some(interval) = schedule.strip_prefix("@every ") {
        return (!is_parse_duration(interval))
            .then(|| format!("`@every` needs a duration such as 24h, not `{interval}`"));
    }
    if schedule.starts_with('@') {
        return (!DESCRIPTORS.contains(&schedule)).then(|| {
            format!("unknown descriptor `{schedule}` (descriptors are lower case, e.g. @daily)")
        });
    }
    if text.starts_with('@') {
        return Some(format!(
            "`{schedule}` has space before the descriptor: CloudNativePG reads it only at the start"
        ));
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() == 5 {
        return Some(format!(
            "five fields: CloudNativePG reads six, seconds first, so this would run at the wrong \
             time; did you mean `0 {text}`?"
        ));
    }
    if fields.len() != 6 {
        return Some(format!(
            "{} fields; a schedule has six: seconds minutes hours day-of-month month day-of-week",
            fields.len()
        ));
    }
    for (field, (name, low, high, names)) in fields.iter().zip(FIELDS) {
        if let Err(why) = check_field(field, low, high, names) {
            return Some(format!("{name} field `{field}`: {why}"));
        }
    }
    None
}

fn check_field(field: &str, low: u32, high: u32, names: &[&str]) -> Result<(), String> {
    // `strings.FieldsFunc` on `,`: empty items are skipped.
    for part in field.split(',').filter(|p| !p.is_empty()) {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n > 0 => {}
                _ => return Err(format!("`{step}` is not a step of 1 or more")),
            }
        }
        // robfig/cron v1 takes `?` in any field, as `*`.
        if range == "*" || range == "?" {
            continue;
        }
        let (start, end) = if let Some((start, end)) = range.split_once('-') {
            (
                value(start, low, high, names)?,
                value(end, low, high, names)?,
            )
        } else {
            let single = value(range, low, high, names)?;
            (single, single)
        };
        if start > end {
            return Err(format!("the range starts after it ends ({start} > {end})"));
        }
    }
    Ok(())
}

fn value(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = names.iter().position(|n| *n == lower) {
        return Ok(low + u32::try_from(index).expect("a short list"));
    }
    match text.parse::<u32>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside {low}-{high}")),
        Err(_) => Err(format!("`{text}` is not a number from {low} to {high}")),
    }
}

#[cfg(test)]
mod tests {
    use super::schedule_problem;

    #[test]
    fn six_fields_and_descriptors_pass() {
        for ok in [
            "0 0 3 * * *",
            "0 30 2 * * SUN",
            "0 0 */6 * * *",
            "0 0 0 1,15 * ?",
            "0 0 1 * JAN-MAR mon-fri",
            "@daily",
            "@every 12h",
            "@every 1.5h",
            "@every 1h30m",
            "0 0 3 1,,15 * *",
        ] {
            assert_eq!(schedule_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        let five = schedule_problem("0 3 * * *").expect("refused");
        assert!(five.contains("did you mean `0 0 3 * * *`"), "{five}");
        for bad in [
            "60 0 3 * * *",
            "0 0 24 * * *",
            "0 0 3 0 * *",
            "0 0 3 * 13 *",
            "0 0 3 * * 7",
            "0 0 3 * * * *",
            "0 0 5-3 * * *",
            "0 0 */0 * * *",
            "@sometimes",
            "@every soon",
            "@DAILY",
            " @daily",
            "@every  1h",
            "@every 1d",
        ] {
            assert!(schedule_problem(bad).is_some(), "{bad}");
        }
    }
}
