//! Follow-up guidance (整改意见): where it stands, and which a list shows.

use crate::text_enum;

text_enum!(
    /// Where follow-up guidance (整改意见) stands.
    GuidanceStatus {
        Open = "open" / "整改中",
        Resolved = "resolved" / "已整改",
        /// The visit that raised it was voided.
        Withdrawn = "withdrawn" / "已撤回",
    }
);

text_enum!(
    /// Which guidance a list shows.
    GuidanceFilter {
        Open = "open" / "整改中",
        /// Open and past its due date.
        Overdue = "overdue" / "逾期",
        Resolved = "resolved" / "已整改",
    }
);

text_enum!(
    /// What a county lead acknowledges in their review queue.
    ReviewKind {
        Station = "station" / "未达标服务站",
        Guidance = "guidance" / "逾期整改意见",
        Progress = "progress" / "建站进度",
    }
);
