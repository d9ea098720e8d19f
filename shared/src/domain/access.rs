//! Who may see and change which lead, by the roles of the playbook's people.
//!
//! A rep, field seller or partner sees the leads they own; a manager those
//! held by their pools' reps and by their queues; ops everything. A lead the
//! caller may not see is answered exactly as one that does not exist.

use super::decision::Owner;
use super::lead::Lead;
use super::playbook::{Playbook, Rep, Role};

/// Whether `person` may see (and act on) `lead`: [`may_see`] its owner, or
/// they are the inside-sales rep supporting the field seller it was handed to.
pub fn may_see_lead(person: &Rep, lead: &Lead, playbook: &Playbook) -> bool {
    may_see(person, lead.owner(), playbook) || lead.support.as_deref() == Some(person.id.as_str())
}

/// The owner keys (`rep#…`, `queue#…`) whose leads `person` sees; `None` for
/// ops, who see every lead. Listing a person's leads queries these.
pub fn visible_owner_keys(person: &Rep, playbook: &Playbook) -> Option<Vec<String>> {
    match person.role {
        Role::Ops => None,
        Role::Isr | Role::FieldSales | Role::Partner => Some(vec![person.owner().key()]),
        Role::Manager => {
            let mut keys = vec![person.owner().key()];
            for m in &person.manages {
                match playbook.pool(m) {
                    Some(pool) => keys.extend(
                        pool.reps
                            .iter()
                            .filter_map(|r| playbook.rep(r))
                            .map(|r| r.owner().key()),
                    ),
                    None => keys.push(playbook.queue_owner(m).key()),
                }
            }
            keys.sort();
            keys.dedup();
            Some(keys)
        }
    }
}

/// Every owner key a lead can have under this playbook (what ops lists).
pub fn all_owner_keys(playbook: &Playbook) -> Vec<String> {
    let mut keys: Vec<String> = playbook
        .reps
        .iter()
        .filter(|r| r.role.owns_leads())
        .map(|r| r.owner().key())
        .chain(
            playbook
                .queues
                .iter()
                .map(|q| playbook.queue_owner(&q.name).key()),
        )
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Whether `person` may see (and act on) a lead held by `owner` (`None`: not yet routed).
pub fn may_see(person: &Rep, owner: Option<&Owner>, playbook: &Playbook) -> bool {
    match person.role {
        Role::Ops => true,
        Role::Isr | Role::FieldSales | Role::Partner => {
            matches!(owner, Some(Owner::Rep { id, .. }) if *id == person.id)
        }
        Role::Manager => owner.is_some_and(|o| manages(person, o, playbook)),
    }
}

/// Whether `person` may hand a lead held by `owner` to someone else: its
/// owner, a manager of the pool or queue it is in, or ops.
pub fn may_reassign(person: &Rep, owner: Option<&Owner>, playbook: &Playbook) -> bool {
    may_see(person, owner, playbook)
}

/// Whether a manager's pools or queues hold a lead owned by `owner`.
fn manages(manager: &Rep, owner: &Owner, playbook: &Playbook) -> bool {
    manager.manages.iter().any(|m| match owner {
        Owner::Queue { name, .. } => name == m,
        Owner::Rep { id, .. } => playbook
            .pool(m)
            .is_some_and(|pool| pool.reps.iter().any(|r| r == id)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person<'p>(pb: &'p Playbook, id: &str) -> &'p Rep {
        pb.rep(id).unwrap()
    }

    #[test]
    fn each_role_sees_what_it_should() {
        let pb = Playbook::default_playbook().unwrap();
        let ana = person(&pb, "ana.ruiz").owner(); // emea-field
        let sam = person(&pb, "sam.patel").owner(); // amer-inside
        let maria = person(&pb, "maria.silva").owner(); // latam-partner
        let inside = pb.queue_owner("inside-sales");
        let nurture = pb.queue_owner("nurture");
        let sees = |who: &str, owner: Option<&Owner>| may_see(person(&pb, who), owner, &pb);

        assert!(sees("ana.ruiz", Some(&ana)));
        assert!(!sees("ana.ruiz", Some(&sam)));
        assert!(!sees("ana.ruiz", Some(&inside)));
        assert!(sees("maria.silva", Some(&maria)));
        assert!(!sees("maria.silva", Some(&ana)));
        assert!(!sees("lena.fischer", None));

        // nina.kovac manages emea-field, emea-inside and the inside-sales queue.
        assert!(sees("nina.kovac", Some(&ana)));
        assert!(sees("nina.kovac", Some(&inside)));
        assert!(!sees("nina.kovac", Some(&sam)));
        assert!(!sees("nina.kovac", Some(&nurture)));
        assert!(!sees("nina.kovac", None));

        for owner in [Some(&ana), Some(&sam), Some(&maria), Some(&nurture), None] {
            assert!(sees("olaf.berg", owner));
        }
    }

    #[test]
    fn the_default_playbook_names_someone_of_every_role() {
        let pb = Playbook::default_playbook().unwrap();
        for role in Role::ALL {
            assert!(pb.reps.iter().any(|r| r.role == role), "{role}");
        }
    }
}
