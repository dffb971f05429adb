//! French data as campaigns get it (issue 20): a metropolitan address file where the same street
//! and number exist in many communes (Grand Lyon's municipal open data: commune names, no
//! postcode) keeps every address, through the coordinator's import; importing it twice changes
//! nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};

#[tokio::test]
async fn a_multi_commune_file_keeps_every_address() {
    let path = doorstep_tests::repo_root().join("data/grand_lyon/fr_grand_lyon_shared_addresses.csv");
    let bytes = std::fs::read(&path).unwrap();
    // What the file holds: distinct (street, number, commune), and how many rows repeat one.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let distinct: HashSet<(String, String, &str)> =
        rows.iter().map(|r| (r[1].to_lowercase(), r[2].to_lowercase(), r[4])).collect();
    let by_number: HashSet<(String, String)> =
        rows.iter().map(|r| (r[1].to_lowercase(), r[2].to_lowercase())).collect();
    assert!(by_number.len() * 10 < distinct.len(), "the excerpt is about addresses shared by communes");

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let mut campaign = doorstep_tests::campaign();
    campaign.id = "grand-lyon".into();
    service.create_campaign(&campaign).await.unwrap();
    store
        .create_user(&User {
            id: "coord".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let staff = doorstep_tests::coordinator(&campaign.id);
    let first = service.import_file(&staff, &bytes, false, HashMap::new()).await.unwrap();
    assert_eq!(first.rows, rows.len());
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.imported.buildings as usize, distinct.len(), "one building per address and commune");
    assert_eq!(first.duplicates.len(), rows.len() - distinct.len(), "every merge is listed");
    assert!(first.duplicates.iter().all(|d| d.distance_m < 100.0), "{:?}", first.duplicates);
    assert!(first.kept_apart.is_empty());
    // Again: nothing new.
    let again = service.import_file(&staff, &bytes, false, HashMap::new()).await.unwrap();
    assert_eq!((again.imported.buildings, again.imported.doors), (0, 0));
    let addresses: HashSet<String> = store
        .cut_candidates(&campaign.id, &[])
        .await
        .unwrap()
        .iter()
        .map(|c| c.street.clone() + " " + &c.house_number)
        .collect();
    assert_eq!(addresses.len(), by_number.len(), "each shared address is there, in every commune");
    assert_eq!(store.cut_candidates(&campaign.id, &[]).await.unwrap().len(), distinct.len());
}
