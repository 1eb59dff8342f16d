//! Settings from the command line: a pure step ([`Settings::from_args`])
//! with the demo's defaults decided in one visible place.

use std::time::Duration;

use anyhow::Result;

use super::args::Common;
use crate::app::{CircularSettings, MailSettings, Settings, schedule};
use crate::domain::circular::valid_prefix;
use crate::domain::issuers::{NoticeIssuers, check_template};

/// The defaults the Baishan demo brings, unless set otherwise: with the
/// demo data in the database, circulars read as Baishan's own (its 发文字号
/// prefix and issuer); when serving the demo (`serve --demo`), one is also
/// issued each month on the 14th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoDefaults {
    /// The demo data set is (or is about to be) in the database.
    pub data: bool,
    /// `serve --demo` or `demo`: the demo is what is being run.
    pub running: bool,
}

impl DemoDefaults {
    fn prefix(self) -> &'static str {
        if self.data { "白市工商通" } else { "市监通" }
    }

    fn issuer(self) -> &'static str {
        if self.data {
            "白山市工商行政管理局"
        } else {
            "市场监督管理局"
        }
    }

    fn addressees(self) -> &'static str {
        if self.data {
            "各县（市）市场监督管理局、城区工商分局，市局直属消保分局"
        } else {
            "各县（市、区）市场监督管理局"
        }
    }

    /// The demo's city districts were branches of the city bureau (城区工商分局).
    fn district_notice_issuer(self) -> Option<&'static str> {
        self.data.then_some("白山市工商行政管理局{unit_short}分局")
    }

    fn schedule(self) -> Option<&'static str> {
        self.running.then_some("monthly:14")
    }
}

/// Parses the copy list: `Name <a@b>, c@d`.
pub fn parse_cc(list: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in list.split([',', '，', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let mailbox: lettre::message::Mailbox = part
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid address {part:?} in BAYIGE_CIRCULAR_CC: {e}"))?;
        let name = mailbox.name.clone().unwrap_or_else(|| mailbox.email.to_string());
        if name.chars().any(char::is_control) {
            anyhow::bail!("the name in {part:?} in BAYIGE_CIRCULAR_CC holds a control character");
        }
        out.push((name, mailbox.email.to_string()));
    }
    Ok(out)
}

/// Loads settings that every command needs: checklists, time zone, database.
impl Settings {
    /// The settings the options ask for. Pure: checks every value and
    /// reports the first bad one by its environment variable.
    pub fn from_args(common: &Common, demo: DemoDefaults, cookie_secure_default: bool) -> Result<Settings> {
        if !(0.0..1.0).contains(&common.lag_tolerance) {
            anyhow::bail!("BAYIGE_LAG_TOLERANCE must be from 0 to 1, not {}", common.lag_tolerance);
        }
        let circular = circular_settings(common, demo)?;
        let notice_issuers = notice_issuers(common, demo, &circular.issuer)?;
        Ok(Settings {
            guidance_due_days: common.guidance_due_days,
            data_dir: common.data_dir.clone(),
            evidence_max_bytes: common.evidence_max_bytes,
            today: common.today,
            circular,
            notice_issuers,
            cookie_secure: common.cookie_secure.unwrap_or(cookie_secure_default),
            progress_cache: Duration::from_millis(common.progress_cache_ms),
            request_timeout: Duration::from_secs(common.request_timeout_secs.max(1)),
            mail: mail_settings(common)?,
            pdf: common.documents.pdf.unwrap_or(true),
            pdf_required: common.documents.pdf == Some(true) || common.documents.font_dir.is_some(),
            font_dir: common.documents.font_dir.clone(),
            notices: common.notices.settings()?,
            disputes: dispute_settings(common)?,
        })
    }
}

fn circular_settings(common: &Common, demo: DemoDefaults) -> Result<CircularSettings> {
    let cc = match &common.circular_cc {
        Some(list) => parse_cc(list)?,
        None => Vec::new(),
    };
    let schedule_spec = common.circular_schedule.as_deref().or(demo.schedule());
    let monthly_day = match schedule_spec.filter(|s| !s.is_empty() && *s != "off") {
        Some(spec) => Some(schedule::parse(spec).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let prefix = common
        .circular_prefix
        .clone()
        .unwrap_or_else(|| demo.prefix().to_owned());
    if !valid_prefix(&prefix) {
        anyhow::bail!("invalid BAYIGE_CIRCULAR_PREFIX {prefix:?}: 1-20 characters, without brackets or 号");
    }
    let issuer = common
        .circular_issuer
        .clone()
        .unwrap_or_else(|| demo.issuer().to_owned());
    let d = &common.documents;
    let text = |v: &Option<String>, default: String| v.clone().filter(|s| !s.trim().is_empty()).unwrap_or(default);
    Ok(CircularSettings {
        prefix,
        mark: text(&d.circular_mark, format!("{issuer}文件")),
        title: text(&d.circular_title, crate::mail::CIRCULAR_TITLE.to_owned()),
        addressees: text(&d.circular_addressees, demo.addressees().to_owned()),
        printed_by: text(&d.circular_printed_by, format!("{issuer}办公室")),
        issuer,
        cc,
        lag_tolerance: common.lag_tolerance,
        monthly_day,
    })
}

/// The 整改通知书's issuing authorities: each option, else the demo's or
/// the generic default; a bad template stops start-up naming its variable.
fn notice_issuers(common: &Common, demo: DemoDefaults, issuer: &str) -> Result<NoticeIssuers> {
    let d = &common.documents;
    let generic = NoticeIssuers::generic(issuer);
    let pick = |value: &Option<String>, default: String, var: &str| -> Result<String> {
        let template = value.clone().unwrap_or(default);
        check_template(&template).map_err(|e| anyhow::anyhow!("invalid {var} {e}"))?;
        Ok(template)
    };
    Ok(NoticeIssuers {
        county: pick(&d.notice_issuer_county, generic.county, "BAYIGE_NOTICE_ISSUER_COUNTY")?,
        district: pick(
            &d.notice_issuer_district,
            demo.district_notice_issuer().map_or(generic.district, str::to_owned),
            "BAYIGE_NOTICE_ISSUER_DISTRICT",
        )?,
        branch: pick(&d.notice_issuer_branch, generic.branch, "BAYIGE_NOTICE_ISSUER_BRANCH")?,
    })
}

fn dispute_settings(common: &Common) -> Result<crate::app::disputes::DisputeSettings> {
    let d = &common.disputes;
    if !(1..=60).contains(&d.dispute_respond_days) || !(1..=60).contains(&d.dispute_close_days) {
        anyhow::bail!("BAYIGE_DISPUTE_RESPOND_DAYS and BAYIGE_DISPUTE_CLOSE_DAYS must be from 1 to 60 working days");
    }
    if d.dispute_respond_days > d.dispute_close_days {
        anyhow::bail!("BAYIGE_DISPUTE_RESPOND_DAYS cannot exceed BAYIGE_DISPUTE_CLOSE_DAYS");
    }
    if !(1..=30).contains(&d.dispute_retention_years) {
        anyhow::bail!("BAYIGE_DISPUTE_RETENTION_YEARS must be from 1 to 30");
    }
    Ok(crate::app::disputes::DisputeSettings {
        respond_days: d.dispute_respond_days,
        close_days: d.dispute_close_days,
        retention_years: d.dispute_retention_years,
    })
}

fn mail_settings(common: &Common) -> Result<MailSettings> {
    if common.mail_max_attempts < 1 {
        anyhow::bail!("BAYIGE_MAIL_MAX_ATTEMPTS must be at least 1");
    }
    common
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| anyhow::anyhow!("invalid BAYIGE_MAIL_FROM {:?}: {e}", common.mail_from))?;
    Ok(MailSettings {
        smtp_url: common.smtp_url.clone().filter(|s| !s.is_empty()),
        from: common.mail_from.clone(),
        max_attempts: common.mail_max_attempts,
        retry_base: Duration::from_millis(common.mail_retry_base_ms),
        poll: Duration::from_millis(common.mail_poll_ms.max(10)),
        lease: Duration::from_secs(common.mail_lease_secs.max(1)),
    })
}
