//! The demo's dispute ledger, as the article reports it by 14 July 2017:
//! 48 disputes settled by stations themselves (和解率 about 95 %, about
//! 40,000 yuan recovered), the model station at Baishan Telecom at 处理率
//! 100 %, 和解率 95 %, 满意率 95 %, and a few 12315 dispatches, one of
//! them overdue. Recorded through the use cases, deterministically.

use chrono::{Days, NaiveDate};

use super::Ctx;
use super::disputes::{self, DisputeInput};
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::disputes as store;
use crate::domain::dispute::{Channel, Handling, Outcome, Satisfaction, SubjectKind};
use crate::error::AppError;

/// Cases at the model station (all handled and followed up; one 调解不成,
/// one 不满意: 95 % each).
const MODEL_CASES: u64 = 20;
/// Handled cases at other stations (one declined).
const OTHER_CASES: u64 = 28;
/// What the ledger recovered in all, in yuan (the article: 近4万余元).
const RECOVERED_YUAN: i64 = 40_000;

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: &[&str] = &["秀英", "志强", "丽华", "建国", "海燕", "春雨", "明", "静", "磊", "红梅"];

const MODEL_SUBJECTS: &[(&str, &str)] = &[
    ("4G流量包", "套餐外流量计费与宣传不符"),
    ("宽带业务", "宽带到期未续约仍扣费"),
    ("手机话费", "增值业务未经同意开通扣费"),
    ("固定电话", "故障报修超时未修复"),
    ("网络电视", "机顶盒无法使用，要求更换"),
];

const OTHER_SUBJECTS: &[(&str, SubjectKind, &str)] = &[
    ("羽绒服", SubjectKind::Goods, "穿着一周出现跑绒，要求退货"),
    ("电饭煲", SubjectKind::Goods, "使用三天即无法加热，要求更换"),
    ("预付卡", SubjectKind::Service, "商家变更经营项目，要求退还余额"),
    ("住宿服务", SubjectKind::Service, "房间设施与预订描述不符"),
    ("快递服务", SubjectKind::Service, "包裹破损，物品损坏"),
    ("食品", SubjectKind::Goods, "购买的月饼超过保质期"),
    ("手机", SubjectKind::Goods, "三包期内屏幕故障"),
];

fn day(from: NaiveDate, days: u64) -> Result<NaiveDate, AppError> {
    from.checked_add_days(Days::new(days))
        .ok_or_else(|| AppError::internal("demo date", anyhow::anyhow!("{from} + {days} days")))
}

fn consumer(n: u64) -> (String, String) {
    let i = n as usize;
    let name = format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i * 7) % GIVEN.len()]);
    (name, format!("1384390{:04}", 1000 + n * 53 % 9000))
}

/// A handled case received on `received`, answered the same day.
#[allow(clippy::too_many_arguments)]
fn handled(
    n: u64,
    received: NaiveDate,
    channel: Channel,
    subject: (&str, SubjectKind, &str),
    handling: Handling,
    outcome: Option<Outcome>,
    recovered: i64,
    follow_up: Option<Satisfaction>,
) -> Result<DisputeInput, AppError> {
    let (name, phone) = consumer(n);
    let handled_on = day(received, 1 + n % 3)?;
    Ok(DisputeInput {
        channel: Some(channel.as_str().into()),
        dispatch_ref: (channel == Channel::Dispatch).then(|| format!("12315-2017-{n:04}")),
        received_on: Some(received),
        received_time: Some(format!("{:02}:{:02}", 9 + n % 8, n * 7 % 60)),
        consumer_name: Some(name),
        consumer_phone: Some(phone),
        subject: Some(subject.0.into()),
        subject_kind: Some(subject.1.as_str().into()),
        amount: Some(format!("{}.00", recovered.max(100) + (n as i64 % 4) * 20)),
        complaint: Some(subject.2.into()),
        responded_on: Some(received),
        handling: Some(handling.as_str().into()),
        handling_note: (handling == Handling::Declined).then(|| "不属于消费纠纷，已告知向有关部门反映".into()),
        outcome: outcome.map(|o| o.as_str().into()),
        recovered: Some(format!("{recovered}.00")),
        handled_on: Some(handled_on),
        followed_up_on: follow_up.map(|_| day(handled_on, 2)).transpose()?,
        satisfaction: follow_up.map(|s| s.as_str().into()),
        ..DisputeInput::default()
    })
}

/// Records the demo ledger at the stations built before 2017.
pub fn load(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, model_host: &str) -> Result<usize, AppError> {
    let built = store::built_before(conn, NaiveDate::from_ymd_opt(2017, 1, 1).unwrap_or_default())?;
    let Some(model) = built
        .iter()
        .find(|(_, name)| name.starts_with(model_host))
        .map(|(id, _)| *id)
    else {
        return Err(AppError::internal("demo ledger", anyhow::anyhow!("no model station")));
    };
    let others: Vec<i32> = built.iter().map(|(id, _)| *id).filter(|id| *id != model).collect();
    let start = NaiveDate::from_ymd_opt(2017, 1, 9).unwrap_or_default();
    let outcomes = [
        Outcome::Refund,
        Outcome::Compensation,
        Outcome::Refund,
        Outcome::Exchange,
        Outcome::Repair,
    ];
    let mut n = 0;
    for i in 0..MODEL_CASES {
        let (subject, complaint) = MODEL_SUBJECTS[i as usize % MODEL_SUBJECTS.len()];
        let failed = i == 7;
        let handling = match (failed, i % 3) {
            (true, _) => Handling::Failed,
            (_, 0) => Handling::Mediated,
            _ => Handling::Settled,
        };
        // Small-claims compensation: 50 yuan at the front line, up to 100 by a manager.
        let recovered = if failed {
            0
        } else {
            [50, 30, 100, 20, 80][i as usize % 5]
        };
        let satisfaction = match (failed, i % 4) {
            (true, _) => Satisfaction::Unsatisfied,
            (_, 1) => Satisfaction::Basically,
            _ => Satisfaction::Satisfied,
        };
        let input = handled(
            n,
            day(start, i * 8)?,
            if i % 6 == 5 { Channel::Phone } else { Channel::WalkIn },
            (subject, SubjectKind::Service, complaint),
            handling,
            (!failed).then_some(outcomes[i as usize % outcomes.len()]),
            recovered,
            Some(satisfaction),
        )?;
        disputes::create(conn, ctx, p, model, input)?;
        n += 1;
    }
    let model_recovered: i64 = (0..MODEL_CASES)
        .filter(|i| *i != 7)
        .map(|i| [50, 30, 100, 20, 80][i as usize % 5])
        .sum();
    let mut rest = RECOVERED_YUAN - model_recovered;
    for j in 0..OTHER_CASES {
        let declined = j == 13;
        let last = j == OTHER_CASES - 1;
        let recovered = match (declined, last) {
            (true, _) => 0,
            (_, true) => rest,
            _ => 700 + (j as i64 * 379 % 1400),
        };
        rest -= recovered;
        let station = others[j as usize % others.len()];
        let input = handled(
            n,
            day(start, 3 + j * 6)?,
            match j % 10 {
                4 | 9 => Channel::Dispatch,
                7 => Channel::Online,
                _ => Channel::WalkIn,
            },
            OTHER_SUBJECTS[j as usize % OTHER_SUBJECTS.len()],
            if declined {
                Handling::Declined
            } else if j % 4 == 0 {
                Handling::Mediated
            } else {
                Handling::Settled
            },
            (!declined).then_some(outcomes[(j as usize + 2) % outcomes.len()]),
            recovered,
            (j % 2 == 0 && !declined).then_some(if j % 8 == 6 {
                Satisfaction::Basically
            } else {
                Satisfaction::Satisfied
            }),
        )?;
        disputes::create(conn, ctx, p, station, input)?;
        n += 1;
    }
    // A dispatch received on Monday 10 July and not answered by Tuesday:
    // overdue in the county lead's review queue.
    let (name, phone) = consumer(n);
    let overdue = DisputeInput {
        channel: Some(Channel::Dispatch.as_str().into()),
        dispatch_ref: Some(format!("12315-2017-{n:04}")),
        received_on: NaiveDate::from_ymd_opt(2017, 7, 10),
        received_time: Some("10:20".into()),
        consumer_name: Some(name),
        consumer_phone: Some(phone),
        subject: Some("预付卡".into()),
        subject_kind: Some(SubjectKind::Service.as_str().into()),
        amount: Some("600.00".into()),
        complaint: Some("健身会所停业，预付卡余额无法退还".into()),
        ..DisputeInput::default()
    };
    disputes::create(conn, ctx, p, others[others.len() / 2], overdue)?;
    Ok(n as usize + 1)
}
