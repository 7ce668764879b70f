//! Token scopes as strings (`repository:NAME:pull,push`): merging the actions wanted on one
//! resource, and whether a token asked for some scopes covers what a request needs.

use std::collections::{BTreeMap, BTreeSet};

/// `needs` with, for each resource it names, the actions `wanted` has on it too.
pub(super) fn with_wanted_actions(needs: &[String], wanted: &[String]) -> Vec<String> {
    let mut scopes = Vec::new();
    for scope in needs {
        if let Some((resource, actions)) = scope.rsplit_once(':') {
            add_scope(
                &mut scopes,
                resource,
                actions.split(',').map(str::to_string),
            );
            let more = wanted
                .iter()
                .filter_map(|w| w.rsplit_once(':'))
                .filter(|(r, _)| *r == resource)
                .flat_map(|(_, actions)| actions.split(','));
            add_scope(&mut scopes, resource, more.map(str::to_string));
        }
    }
    scope_strings(&scopes)
}

/// Whether a token asked for `scopes` covers every action of `needs`.
pub(super) fn covers(scopes: &[String], needs: &[String]) -> bool {
    needs.iter().all(|need| {
        let Some((resource, actions)) = need.rsplit_once(':') else {
            return scopes.contains(need);
        };
        actions.split(',').all(|action| {
            scopes.iter().any(|scope| {
                scope.rsplit_once(':').is_some_and(|(r, granted)| {
                    r == resource && granted.split(',').any(|g| g == action)
                })
            })
        })
    })
}

/// Whether `scopes` name a resource that none of `needs` does: a token for them asks for more
/// than a request that needs `needs`.
pub(super) fn covers_others(scopes: &[String], needs: &[String]) -> bool {
    let resource = |scope: &String| scope.rsplit_once(':').map(|(r, _)| r.to_string());
    let needed: BTreeSet<String> = needs.iter().filter_map(resource).collect();
    scopes
        .iter()
        .filter_map(resource)
        .any(|r| !needed.contains(&r))
}

/// Add `actions` on `resource` (e.g. `repository:a/b`) to the wanted scopes, merging actions.
pub(super) fn add_scope(
    wanted: &mut Vec<(String, BTreeSet<String>)>,
    resource: &str,
    actions: impl IntoIterator<Item = String>,
) {
    let actions: BTreeSet<String> = actions.into_iter().filter(|a| !a.is_empty()).collect();
    if let Some((_, existing)) = wanted.iter_mut().find(|(r, _)| r == resource) {
        existing.extend(actions);
    } else {
        wanted.push((resource.to_string(), actions));
    }
}

/// `resource:action1,action2` strings, push before pull as registries list them.
pub(super) fn scope_strings(wanted: &[(String, BTreeSet<String>)]) -> Vec<String> {
    let order: BTreeMap<&str, usize> = [("pull", 0), ("push", 1)].into_iter().collect();
    wanted
        .iter()
        .map(|(resource, actions)| {
            let mut actions: Vec<&str> = actions.iter().map(String::as_str).collect();
            actions.sort_by_key(|a| (order.get(a).copied().unwrap_or(2), *a));
            format!("{resource}:{}", actions.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_merge_actions_and_keep_the_first_asked_first() {
        let mut wanted = Vec::new();
        add_scope(&mut wanted, "repository:target", ["push".to_string()]);
        add_scope(&mut wanted, "repository:source", ["pull".to_string()]);
        add_scope(&mut wanted, "repository:target", ["pull".to_string()]);
        assert_eq!(
            scope_strings(&wanted),
            ["repository:target:pull,push", "repository:source:pull"]
        );
    }

    #[test]
    fn a_token_for_a_repository_asks_for_every_action_the_run_wants_there() {
        let wanted = [
            "repository:t:pull,push".to_string(),
            "repository:s:pull".to_string(),
        ];
        let needs = [
            "repository:t:pull".to_string(),
            "repository:s:pull".to_string(),
        ];
        let scopes = with_wanted_actions(&needs, &wanted);
        assert_eq!(scopes, ["repository:t:pull,push", "repository:s:pull"]);
        assert!(covers(&scopes, &["repository:t:push".to_string()]));
        assert!(!covers(&scopes, &["repository:u:pull".to_string()]));
        assert!(covers_others(&wanted, &["repository:t:pull".to_string()]));
        assert!(!covers_others(
            &wanted[..1],
            &["repository:t:pull".to_string()]
        ));
    }
}
