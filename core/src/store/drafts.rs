//! Knock drafts: what the volunteer has entered so far at a door, saved as they type, so that an app
//! killed mid-knock reopens on the same form. Recording the knock discards the draft.

use doorstep_protocol::Target;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::{CoreError, Result};
use crate::views::KnockDraft;

/// The stored form of a draft (the target is the key).
#[derive(Serialize, Deserialize)]
struct DraftBody {
    result_code: Option<String>,
    answers: Vec<doorstep_protocol::Answer>,
    note: Option<String>,
    safety_flags: Vec<doorstep_protocol::SafetyFlag>,
}

fn target_from(kind: &str, id: String) -> Result<Target> {
    Ok(match kind {
        "building" => Target::Building { id },
        "door" => Target::Door { id },
        "person" => Target::Person { id },
        other => return Err(CoreError::BadMessage(format!("unknown draft target kind {other}"))),
    })
}

impl Store {
    /// Saves (replaces) the draft for its target. The target must be on the device.
    pub fn save_draft(&self, draft: KnockDraft) -> Result<KnockDraft> {
        let now = self.clock.now_ms();
        let body = DraftBody {
            result_code: draft.result_code.clone(),
            answers: draft.answers.clone(),
            note: draft.note.clone(),
            safety_flags: draft.safety_flags.clone(),
        };
        self.write(|tx| {
            let table = match draft.target {
                Target::Building { .. } => "buildings",
                Target::Door { .. } => "doors",
                Target::Person { .. } => "people",
            };
            let exists = tx
                .query_row(&format!("SELECT 1 FROM {table} WHERE id = ?1"), [draft.target.id()], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(CoreError::unknown(draft.target.kind(), draft.target.id()));
            }
            tx.execute(
                "INSERT INTO drafts(target_kind, target_id, body, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(target_kind, target_id) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                params![draft.target.kind(), draft.target.id(), serde_json::to_string(&body)?, now],
            )?;
            Ok(())
        })?;
        Ok(KnockDraft { updated_ms: now, ..draft })
    }

    pub fn load_draft(&self, target: &Target) -> Result<Option<KnockDraft>> {
        self.read(|c| {
            let row: Option<(String, i64)> = c
                .query_row(
                    "SELECT body, updated_ms FROM drafts WHERE target_kind = ?1 AND target_id = ?2",
                    [target.kind(), target.id()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(body, updated_ms)| {
                let b: DraftBody = serde_json::from_str(&body)?;
                Ok(KnockDraft {
                    target: target.clone(),
                    result_code: b.result_code,
                    answers: b.answers,
                    note: b.note,
                    safety_flags: b.safety_flags,
                    updated_ms,
                })
            })
            .transpose()
        })
    }

    /// Every saved draft, most recent first (the app offers to resume them).
    pub fn list_drafts(&self) -> Result<Vec<KnockDraft>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT target_kind, target_id, body, updated_ms FROM drafts ORDER BY updated_ms DESC")?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(kind, id, body, updated_ms)| {
                    let b: DraftBody = serde_json::from_str(&body)?;
                    Ok(KnockDraft {
                        target: target_from(&kind, id)?,
                        result_code: b.result_code,
                        answers: b.answers,
                        note: b.note,
                        safety_flags: b.safety_flags,
                        updated_ms,
                    })
                })
                .collect()
        })
    }

    /// Returns whether a draft was there.
    pub fn discard_draft(&self, target: &Target) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM drafts WHERE target_kind = ?1 AND target_id = ?2",
                [target.kind(), target.id()],
            )? > 0)
        })
    }
}
