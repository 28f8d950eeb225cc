//! Cron schedules as CloudNativePG reads `ScheduledBackup.spec.schedule`: robfig/cron with a
//! seconds field first (six fields), or a descriptor such as `@daily` or `@every 1h`.
//!
//! A five-field Unix schedule is the classic mistake: CloudNativePG reads its first field as
//! seconds, so `0 3 * * *` means "at second 0 of minute 3 of every hour of every day...", not
//! 03:00. cnpgtp refuses it and says what was probably meant.

use super::syntax::is_go_duration;

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

/// Why `schedule` is not a schedule CloudNativePG accepts, if it is not.
pub fn schedule_problem(schedule: &str) -> Option<String> {
    let text = schedule.trim();
    if let Some(interval) = text.strip_prefix("@every ") {
        return (!is_go_duration(interval.trim()))
            .then(|| format!("`@every` needs a duration such as 24h, not `{interval}`"));
    }
    if text.starts_with('@') {
        return (!DESCRIPTORS.contains(&text.to_ascii_lowercase().as_str()))
            .then(|| format!("unknown descriptor `{text}`"));
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
    for part in field.split(',') {
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
        ] {
            assert!(schedule_problem(bad).is_some(), "{bad}");
        }
    }
}
