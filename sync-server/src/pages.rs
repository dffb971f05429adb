//! The team's people (issue 18), the service: volunteer pages as each viewer may see them, the
//! people events phones push (page settings, coopain steps), photos (normalised by
//! [`crate::photo`]), and a volunteer's own data — its export (one JSON document) and the deletion
//! of their account (GDPR articles 15, 17 and 20). Exports and deletions are audited; the export's
//! line is written before the data leaves.

use doorstep_protocol::{PROTOCOL_VERSION, PeoplePush, PeopleView, PushResponse, VolunteerPage};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::{DeviceSession, Service};
use crate::store::operations::StoreOps;
use crate::store::{Role, User};

/// Most people events in one push.
pub const MAX_PEOPLE_PER_PUSH: usize = 100;

/// A volunteer's request to delete their account.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Must be `SUPPRIMER`.
    pub confirm: String,
}

/// What a deletion did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DeleteResponse {
    pub deleted: bool,
    pub devices_revoked: u64,
    pub turfs_returned: u64,
    pub messages_emptied: u64,
}

impl Service {
    fn live_device_user(&self, dev: &DeviceSession) -> Result<User, ServiceError> {
        if dev.revoked {
            return Err(ServiceError::forbidden("appareil révoqué / this device was revoked"));
        }
        Ok(dev.user.clone())
    }

    /// A phone's people: its own page, its coopains and asks, its team.
    pub async fn people_view(&self, dev: &DeviceSession) -> Result<PeopleView, ServiceError> {
        let me = self.live_device_user(dev)?;
        let now = (self.now)();
        let (me, coopains, team) = self.store.people_view(&me, now).await?;
        Ok(PeopleView { protocol: PROTOCOL_VERSION, me, coopains, team, server_time_ms: now })
    }

    /// A phone's people events, each answered like a pushed knock.
    pub async fn push_people(&self, dev: &DeviceSession, req: PeoplePush) -> Result<PushResponse, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if req.device_id != dev.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        if req.events.len() > MAX_PEOPLE_PER_PUSH {
            return Err(ServiceError::too_large(
                "too_many_items",
                format!("at most {MAX_PEOPLE_PER_PUSH} people events per push"),
            ));
        }
        let me = &dev.user;
        let now = (self.now)();
        let results = self.store.record_people(me, &dev.device.device_id, &req.events, dev.revoked, now).await?;
        Ok(PushResponse { protocol: PROTOCOL_VERSION, results, server_time_ms: now })
    }

    async fn page_as(&self, viewer: &User, person_id: &str) -> Result<VolunteerPage, ServiceError> {
        self.store
            .person_page(viewer, person_id, (self.now)())
            .await?
            .ok_or_else(|| ServiceError::not_found("personne inconnue / no such person"))
    }

    /// A person's page as a phone's person sees it.
    pub async fn phone_page(&self, dev: &DeviceSession, person_id: &str) -> Result<VolunteerPage, ServiceError> {
        let me = self.live_device_user(dev)?;
        self.page_as(&me, person_id).await
    }

    /// A person's page as a staff member sees it (the dashboard's volunteer page).
    pub async fn staff_page(&self, st: &Staff, person_id: &str) -> Result<VolunteerPage, ServiceError> {
        self.page_as(&st.user, person_id).await
    }

    async fn photo_as(&self, viewer: &User, person_id: &str) -> Result<Vec<u8>, ServiceError> {
        use base64::Engine as _;
        let b64 = self
            .store
            .person_photo(viewer, person_id, (self.now)())
            .await?
            .ok_or_else(|| ServiceError::not_found("pas de photo / no photo"))?;
        base64::engine::general_purpose::STANDARD.decode(b64).map_err(ServiceError::internal)
    }

    pub async fn phone_photo(&self, dev: &DeviceSession, person_id: &str) -> Result<Vec<u8>, ServiceError> {
        let me = self.live_device_user(dev)?;
        self.photo_as(&me, person_id).await
    }

    pub async fn staff_photo(&self, st: &Staff, person_id: &str) -> Result<Vec<u8>, ServiceError> {
        self.photo_as(&st.user, person_id).await
    }

    /// Sets the phone's person's photo (`None`: removes it). Stored only once normalised: square,
    /// 256 px, re-encoded, every metadata block of the original gone.
    pub async fn set_my_photo(&self, dev: &DeviceSession, bytes: Option<&[u8]>) -> Result<VolunteerPage, ServiceError> {
        use base64::Engine as _;
        let me = self.live_device_user(dev)?;
        let stored = match bytes {
            Some(b) => {
                let jpeg = crate::photo::normalise(b).map_err(|e| ServiceError::invalid(e.code(), e.to_string()))?;
                Some(base64::engine::general_purpose::STANDARD.encode(jpeg))
            }
            None => None,
        };
        let set = stored.is_some();
        self.store.set_photo(&me.id, stored, (self.now)()).await?;
        let action = if set { "photo.set" } else { "photo.remove" };
        self.record(&me.campaign_id, &me.id, Some(&dev.device.device_id), action, Some(&me.id), serde_json::json!({}))
            .await?;
        self.page_as(&me, &me.id).await
    }

    async fn export_of(&self, person: &User) -> Result<serde_json::Value, ServiceError> {
        let data = self.store.personal_data(person).await?;
        Ok(serde_json::json!({
            "format": "doorstep.personal-data/1",
            "exported_ms": (self.now)(),
            "note_fr": "Toutes les données que Doorstep conserve sur vous dans cette campagne. Les réponses recueillies aux portes concernent les personnes rencontrées : elles n'y figurent pas.",
            "note_en": "All the data Doorstep holds about you in this campaign. Answers collected at doors are about the people met there and are left out.",
            "data": data,
        }))
    }

    /// The phone's person's own data, one JSON document (GDPR articles 15 and 20).
    pub async fn export_mine(&self, dev: &DeviceSession) -> Result<serde_json::Value, ServiceError> {
        let me = self.live_device_user(dev)?;
        self.record(
            &me.campaign_id,
            &me.id,
            Some(&dev.device.device_id),
            "data.export",
            Some(&me.id),
            serde_json::json!({}),
        )
        .await?;
        self.export_of(&me).await
    }

    /// A coordinator answers a volunteer's written request with the same document.
    pub async fn staff_export(&self, st: &Staff, person_id: &str) -> Result<serde_json::Value, ServiceError> {
        st.require_coordinator()?;
        let person = self
            .store
            .user(person_id)
            .await?
            .filter(|u| u.campaign_id == st.campaign())
            .ok_or_else(|| ServiceError::not_found("personne inconnue / no such person"))?;
        self.record_staff(st, "data.export", Some(&person.id), serde_json::json!({})).await?;
        self.export_of(&person).await
    }

    /// The phone's person deletes their account (GDPR article 17). The phone pushes everything it
    /// holds first (`doorstep-core`'s `delete_account`); here the account is emptied and every
    /// device revoked in one transaction with its audit line. Coordinators hand the campaign
    /// over instead: their account is not deleted from a phone.
    pub async fn delete_me(&self, dev: &DeviceSession, req: DeleteRequest) -> Result<DeleteResponse, ServiceError> {
        if let Err(e) = doorstep_protocol::validate::people::check_delete_confirmation(&req.confirm) {
            return Err(ServiceError::invalid(e.code(), e.to_string()));
        }
        let me = self.live_device_user(dev)?;
        if me.role == Role::Coordinator {
            return Err(ServiceError::conflict(
                "coordinator_account",
                "un coordinateur transmet la campagne avant de partir / a coordinator hands the campaign over first",
            ));
        }
        let audit_id = crate::auth::new_token()[..22].to_string();
        let n = self.store.erase_person(&me, (self.now)(), &audit_id).await?;
        if !n.turf_ids.is_empty() {
            self.announce(&me.campaign_id, "turfs", n.turf_ids.clone(), None, 0, None).await;
        }
        Ok(DeleteResponse {
            deleted: true,
            devices_revoked: n.devices_revoked,
            turfs_returned: n.turfs_returned,
            messages_emptied: n.messages_emptied,
        })
    }
}
