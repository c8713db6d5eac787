//! Network analysis: hand-made graphs with known answers, brute-force oracles, and recovery of
//! the demo's planted networks.

use std::collections::{BTreeSet, HashMap, VecDeque};
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::model::{Identifier, IdentifierKind};
use vigil_cases::network::*;

fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
    Graph::new(
        n,
        &edges.iter().map(|&(a, b)| (a, b, 1.0)).collect::<Vec<_>>(),
    )
}

#[test]
fn betweenness_of_known_graphs() {
    // Path 0-1-2-3-4: pairs through 1: (0,2),(0,3),(0,4) = 3; through 2: (0,3),(0,4),(1,3),(1,4) = 4.
    assert_eq!(
        betweenness(&graph(5, &[(0, 1), (1, 2), (2, 3), (3, 4)])),
        vec![0.0, 3.0, 4.0, 3.0, 0.0]
    );
    // Star with 4 leaves: the centre is on all C(4,2) = 6 leaf pairs.
    assert_eq!(
        betweenness(&graph(5, &[(0, 1), (0, 2), (0, 3), (0, 4)])),
        vec![6.0, 0.0, 0.0, 0.0, 0.0]
    );
    // Square 0-1-2-3-0: each pair of opposite nodes has two shortest paths: 0.5 each.
    assert_eq!(
        betweenness(&graph(4, &[(0, 1), (1, 2), (2, 3), (3, 0)])),
        vec![0.5; 4]
    );
}

#[test]
fn components_and_louvain_of_known_graphs() {
    let g = graph(7, &[(0, 1), (1, 2), (3, 4), (5, 5)]);
    assert_eq!(
        components(&g),
        vec![vec![0, 1, 2], vec![3, 4], vec![5], vec![6]]
    );
    // Two 4-cliques joined by one edge (3-4): two communities.
    let mut e = Vec::new();
    for base in [0, 4] {
        for i in 0..4 {
            for j in i + 1..4 {
                e.push((base + i, base + j));
            }
        }
    }
    e.push((3, 4));
    let g = graph(8, &e);
    let c = louvain(&g);
    assert_eq!(c, vec![0, 0, 0, 0, 1, 1, 1, 1]);
    // Modularity by hand: m = 13; each side has 6.5 internal edges' worth... Q = Σ (l_c/m − (d_c/2m)²)
    // = 2 × (6/13 − (13/26)²) = 12/13 − 0.5.
    assert!((modularity(&g, &c) - (12.0 / 13.0 - 0.5)).abs() < 1e-12);
    // Brokers: 3 and 4 carry every path between the cliques (3 × 4 pairs each, plus 0).
    let b = betweenness(&g);
    assert_eq!(b[3], 12.0);
    assert_eq!(b[4], 12.0);
}

fn bfs_all(g: &Graph, s: usize) -> (Vec<i64>, Vec<f64>) {
    let n = g.len();
    let mut d = vec![-1; n];
    let mut sigma = vec![0.0; n];
    d[s] = 0;
    sigma[s] = 1.0;
    let mut q = VecDeque::from([s]);
    while let Some(v) = q.pop_front() {
        for &(w, _) in &g.adj[v] {
            if d[w] < 0 {
                d[w] = d[v] + 1;
                q.push_back(w);
            }
            if d[w] == d[v] + 1 {
                sigma[w] += sigma[v];
            }
        }
    }
    (d, sigma)
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn edges() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
        (2usize..12).prop_flat_map(|n| (Just(n), prop::collection::vec((0..n, 0..n), 0..25)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn components_partition_the_nodes((n, e) in edges()) {
            let e: Vec<(usize, usize)> = e.into_iter().filter(|(a, b)| a != b).collect::<BTreeSet<_>>().into_iter().collect();
            let g = graph(n, &e);
            let comps = components(&g);
            let mut seen = vec![0; n];
            let mut comp_of = vec![0; n];
            for (ci, c) in comps.iter().enumerate() {
                for &x in c {
                    seen[x] += 1;
                    comp_of[x] = ci;
                }
            }
            prop_assert!(seen.iter().all(|&s| s == 1));
            for s in 0..n {
                let (d, _) = bfs_all(&g, s);
                for t in 0..n {
                    prop_assert_eq!(d[t] >= 0, comp_of[s] == comp_of[t]);
                }
            }
        }

        #[test]
        fn betweenness_matches_pair_counting((n, e) in edges()) {
            let e: Vec<(usize, usize)> = e.into_iter().filter(|(a, b)| a != b).map(|(a, b)| (a.min(b), a.max(b))).collect::<BTreeSet<_>>().into_iter().collect();
            let g = graph(n, &e);
            let all: Vec<(Vec<i64>, Vec<f64>)> = (0..n).map(|s| bfs_all(&g, s)).collect();
            let mut oracle = vec![0.0; n];
            for s in 0..n {
                for t in s + 1..n {
                    let (ds, ss) = &all[s];
                    if ds[t] < 0 { continue; }
                    for v in 0..n {
                        if v == s || v == t { continue; }
                        let (dv, sv) = &all[v];
                        if ds[v] >= 0 && dv[t] >= 0 && ds[v] + dv[t] == ds[t] {
                            oracle[v] += ss[v] * sv[t] / ss[t];
                        }
                    }
                }
            }
            let got = betweenness(&g);
            for v in 0..n {
                prop_assert!((got[v] - oracle[v]).abs() < 1e-9, "node {}: {} vs {}", v, got[v], oracle[v]);
            }
        }

        #[test]
        fn louvain_never_worse_than_singletons((n, e) in edges()) {
            let e: Vec<(usize, usize)> = e.into_iter().filter(|(a, b)| a != b).collect();
            let g = graph(n, &e);
            let c = louvain(&g);
            let single: Vec<usize> = (0..n).collect();
            prop_assert!(modularity(&g, &c) >= modularity(&g, &single) - 1e-12);
            // Communities never span components.
            let comps = components(&g);
            for comp in comps {
                for &x in &comp {
                    for other in 0..n {
                        if c[other] == c[x] {
                            prop_assert!(comp.contains(&other));
                        }
                    }
                }
            }
        }
    }
}

fn small_incidents(ids: &[&[(IdentifierKind, &str)]]) -> Vec<vigil_cases::Incident> {
    let base = crate::fixture::incidents()[0].clone();
    ids.iter()
        .enumerate()
        .map(|(i, list)| {
            let mut inc = base.clone();
            inc.id = format!("I-{i}");
            inc.identifiers = list
                .iter()
                .map(|(k, v)| Identifier::new(*k, v, "test"))
                .collect();
            inc
        })
        .collect()
}

#[test]
fn shared_phone_links_shared_hospital_does_not() {
    use IdentifierKind::*;
    let hospital = (Place, "District Hospital  Amford");
    let mut rows: Vec<Vec<(IdentifierKind, &str)>> = vec![
        vec![(Phone, "+99 345 1234567"), hospital],
        vec![(Phone, "0099-345-1234567")],
        vec![hospital],
        vec![hospital],
    ];
    for _ in 0..20 {
        rows.push(vec![(Person, "filler")]); // a hub of 20 (above a cap of 10)
    }
    let refs: Vec<&[(IdentifierKind, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
    let inc = small_incidents(&refs);
    let a = analyse(
        &inc,
        &NetworkOptions {
            hub_cap: 10,
            ..Default::default()
        },
    );
    assert_eq!(a.links.len(), 1, "{:?}", a.links);
    assert_eq!((a.links[0].a, a.links[0].b), (0, 1));
    let text = a.links[0].explain(&inc);
    assert!(text.starts_with("I-0 and I-1"), "{text}");
    assert!(
        text.contains("both name phone +993451234567 (named by 2 incidents"),
        "{text}"
    );
    assert_eq!(a.hubs, vec![("person:filler".to_string(), 20)]);
    assert_eq!(a.candidates.len(), 1);
    assert_eq!(a.candidates[0].incidents, vec!["I-0", "I-1"]);
}

#[test]
fn near_pdq_hashes_link_and_far_ones_do_not() {
    use IdentifierKind::*;
    let h = "pdq:f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    // The last byte differs: 0x22 ^ 0x2d = 0x0f, 4 bits.
    let near = "pdq:f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d";
    let far = "pdq:07070f311f0b57b0f9c8f5ddfc709c0f4c91d12a699de1e2cc194c63b16364dd";
    let inc = small_incidents(&[&[(MediaHash, h)], &[(MediaHash, near)], &[(MediaHash, far)]]);
    let a = analyse(&inc, &NetworkOptions::default());
    assert_eq!(a.links.len(), 1);
    assert_eq!(a.links[0].evidence[0].distance, Some(4));
    assert!(a.links[0].explain(&inc).contains("4 bits apart"));
}

/// Pairwise precision and recall of the candidate networks against the planted ones.
fn pair_scores(found: &[Vec<String>], truth: &[Vec<String>]) -> (f64, f64, usize, usize) {
    let pairs = |groups: &[Vec<String>]| -> BTreeSet<(String, String)> {
        let mut s = BTreeSet::new();
        for g in groups {
            for i in 0..g.len() {
                for j in i + 1..g.len() {
                    s.insert((
                        g[i].clone().min(g[j].clone()),
                        g[i].clone().max(g[j].clone()),
                    ));
                }
            }
        }
        s
    };
    let (f, t) = (pairs(found), pairs(truth));
    let tp = f.intersection(&t).count();
    (
        tp as f64 / f.len().max(1) as f64,
        tp as f64 / t.len().max(1) as f64,
        f.len(),
        t.len(),
    )
}

#[test]
fn planted_networks_are_recovered_and_hubs_do_not_merge() {
    let d = demo::generate(&DemoOptions::default());
    let a = analyse(&d.incidents, &NetworkOptions::default());
    let found: Vec<Vec<String>> = a.candidates.iter().map(|c| c.incidents.clone()).collect();
    let truth: Vec<Vec<String>> = d
        .truth
        .networks
        .iter()
        .map(|n| n.incidents.clone())
        .collect();
    let (p, r, nf, nt) = pair_scores(&found, &truth);
    eprintln!(
        "planted networks: {} incidents, {} candidates, {} found pairs, {} true pairs, precision {p:.3}, recall {r:.3}, {} hubs ignored",
        d.incidents.len(),
        a.candidates.len(),
        nf,
        nt,
        a.hubs.len()
    );
    assert!(p >= 0.99, "precision {p}");
    assert!(r >= 0.99, "recall {r}");
    // The top candidates are the planted networks, largest evidence first.
    assert_eq!(a.candidates.len(), d.truth.networks.len());
    // Hubs really are in the data and were set aside, and no link rests on a hub.
    let hub_values: BTreeSet<&str> = d.truth.hubs.iter().map(String::as_str).collect();
    let named: HashMap<&str, usize> = d
        .incidents
        .iter()
        .flat_map(|i| &i.identifiers)
        .filter(|x| hub_values.contains(x.value.as_str()))
        .fold(HashMap::new(), |mut m, x| {
            *m.entry(x.value.as_str()).or_default() += 1;
            m
        });
    assert!(
        named.values().any(|&n| n > 25),
        "the demo has hubs above the cap"
    );
    for l in &a.links {
        let non_place = l
            .evidence
            .iter()
            .filter(|e| e.kind != IdentifierKind::Place)
            .map(|e| e.weight)
            .sum::<f64>();
        assert!(
            non_place >= NetworkOptions::default().min_score,
            "link rests on places: {}",
            l.explain(&d.incidents)
        );
    }
    // Without the weighting (every shared identifier counts, no cap), hubs merge unrelated cases.
    let naive = analyse(
        &d.incidents,
        &NetworkOptions {
            hub_cap: usize::MAX,
            min_score: 0.0,
            ..Default::default()
        },
    );
    let biggest = naive
        .candidates
        .iter()
        .map(|c| c.incidents.len())
        .max()
        .unwrap_or(0);
    assert!(
        biggest > 25,
        "hubs should merge unrelated incidents when not down-weighted ({biggest})"
    );
}

#[test]
fn report_ranks_candidates_and_explains_links() {
    use IdentifierKind::*;
    // A chain 0-1-2 through a phone and a handle (1 is the broker), and a pair 3-4 through a
    // wallet named with lower confidence; 10 fillers share a hub person.
    let mut rows: Vec<Vec<(IdentifierKind, &str)>> = vec![
        vec![(Phone, "+99 345 0000001")],
        vec![(Phone, "+99 345 0000001"), (Handle, "@ring")],
        vec![(Handle, "@ring")],
        vec![(CryptoAddress, "btc:bc1qexample")],
        vec![(CryptoAddress, "btc:bc1qexample")],
    ];
    for _ in 0..10 {
        rows.push(vec![(Person, "hub")]);
    }
    let refs: Vec<&[(IdentifierKind, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
    let mut inc = small_incidents(&refs);
    inc[4].identifiers[0].confidence = 0.8;
    let a = analyse(
        &inc,
        &NetworkOptions {
            hub_cap: 5,
            ..Default::default()
        },
    );
    // Weights with N = 15 (normalised by ln 1000): 1 − ln 2 / ln 1000 = 0.8997 each.
    let w = 1.0 - 2f64.ln() / 1000f64.ln();
    assert_eq!(a.candidates.len(), 2);
    assert!((a.candidates[0].score - 2.0 * w).abs() < 1e-9);
    assert!((a.candidates[1].score - 0.8 * w).abs() < 1e-6);
    let text = report(&a, &inc, 10);
    let expected = format!(
        "candidate network 1: 3 incidents, evidence {:.2}, 2 links, 1 communities\n  incidents: I-0, I-1, I-2\n  brokers (betweenness): I-1 (1.0)\n  - I-0 and I-1 (score {w:.2}): both name phone +993450000001 (named by 2 incidents, weight {w:.2})\n  - I-1 and I-2 (score {w:.2}): both name handle ring (named by 2 incidents, weight {w:.2})\ncandidate network 2: 2 incidents, evidence {:.2}, 1 links, 1 communities\n  incidents: I-3, I-4\n  - I-3 and I-4 (score {:.2}): both name crypto address btc:bc1qexample (named by 2 incidents, weight {:.2})\nhubs set aside (named by too many incidents to link them): person:hub (10)\n",
        2.0 * w,
        0.8 * w,
        0.8 * w,
        0.8 * w
    );
    assert_eq!(text, expected);
}
