//! "Is this a network?": incidents linked through the identifiers they share.
//!
//! Two incidents are linked when they name the same identifier (or PDQ media hashes within a
//! Hamming threshold). Not every shared identifier is evidence: a district hospital or a police
//! station is named by dozens of unrelated cases. Each identifier therefore gets a weight that
//! falls with the number of incidents naming it (its document frequency `df`), normalised so the
//! scale does not depend on the size of the registry:
//!
//! ```text
//! weight = prior(kind) × (1 − ln(df) / ln(N))      for 2 ≤ df ≤ hub_cap, else 0
//! ```
//!
//! `N` is the number of incidents (at least 1,000, so that a small registry does not
//! penalise a rare identifier) and `prior` is lower for places (0.4) and URLs and vehicles
//! (0.8) than for phones, handles, crypto addresses, media hashes and persons (1.0). An
//! identifier named by more than `hub_cap` incidents is a *hub*: it is listed, never used. A
//! link's score is the sum of its evidence weights times the lower of the two confidences; links
//! scoring below `min_score` (0.5) are dropped. With the defaults a place alone can never link
//! two incidents (0.4 < 0.5); a phone shared by a handful of incidents always does.
//!
//! On the kept links: connected components (union–find), communities by Louvain (modularity,
//! weighted), and brokers by Brandes' betweenness (unweighted hops). Each component of two or
//! more incidents is a candidate network, ranked by its total evidence, and every link carries
//! its explanation in words. The graph algorithms are written here (no graph crate) because the
//! results must be exact and explainable, and they are small.

use crate::model::{IdentifierKind, Incident};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use vigil_core::Hash256;

/// Options of the analysis.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    /// Identifiers named by more incidents than this are hubs and ignored.
    pub hub_cap: usize,
    /// Links scoring below this are dropped.
    pub min_score: f64,
    /// PDQ hashes within this Hamming distance link (PDQ's usual match threshold is 31).
    pub pdq_threshold: u32,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            hub_cap: 25,
            min_score: 0.5,
            pdq_threshold: 31,
        }
    }
}

/// Prior weight of an identifier kind.
pub fn prior(kind: IdentifierKind) -> f64 {
    match kind {
        IdentifierKind::Place => 0.4,
        IdentifierKind::Url | IdentifierKind::Vehicle => 0.8,
        _ => 1.0,
    }
}

/// The weight of an identifier of `kind` named by `df` of `n` incidents (see the module docs).
pub fn weight(kind: IdentifierKind, df: usize, n: usize, hub_cap: usize) -> f64 {
    if df < 2 || df > hub_cap {
        return 0.0;
    }
    let ln_n = (n.max(1000) as f64).ln();
    (prior(kind) * (1.0 - (df as f64).ln() / ln_n)).max(0.0)
}

/// One piece of evidence for a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Kind of the shared identifier.
    pub kind: IdentifierKind,
    /// The value in the first incident.
    pub value: String,
    /// The value in the second incident (differs for near PDQ matches).
    pub other_value: String,
    /// Incidents naming it (for near matches: both values together).
    pub df: usize,
    /// Weight × the lower confidence.
    pub weight: f64,
    /// Hamming distance for near media-hash matches.
    pub distance: Option<u32>,
}

/// A link between two incidents (indices into the analysed slice, `a < b`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// First incident.
    pub a: usize,
    /// Second incident.
    pub b: usize,
    /// Sum of the evidence weights.
    pub score: f64,
    /// The evidence.
    pub evidence: Vec<Evidence>,
}

impl Link {
    /// The link in words, e.g. "I-000012 and I-000345 both name phone +99345…; …".
    pub fn explain(&self, incidents: &[Incident]) -> String {
        let (a, b) = (&incidents[self.a].id, &incidents[self.b].id);
        let parts: Vec<String> = self
            .evidence
            .iter()
            .map(|e| match e.distance {
                Some(d) => format!(
                    "{a} names media hash {} and {b} names {}, {d} bits apart (named by {} incidents, weight {:.2})",
                    e.value, e.other_value, e.df, e.weight
                ),
                None => format!(
                    "both name {} {} (named by {} incidents, weight {:.2})",
                    e.kind.name(),
                    e.value,
                    e.df,
                    e.weight
                ),
            })
            .collect();
        format!(
            "{a} and {b} (score {:.2}): {}",
            self.score,
            parts.join("; ")
        )
    }
}

/// An undirected weighted graph as adjacency lists (each edge listed at both ends).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Neighbours and weights per node.
    pub adj: Vec<Vec<(usize, f64)>>,
}

impl Graph {
    /// A graph of `n` nodes and the given edges (no self loops expected; parallel edges are kept).
    pub fn new(n: usize, edges: &[(usize, usize, f64)]) -> Graph {
        let mut adj = vec![Vec::new(); n];
        for &(a, b, w) in edges {
            adj[a].push((b, w));
            if a != b {
                adj[b].push((a, w));
            }
        }
        Graph { adj }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Connected components, each sorted, ordered by their smallest node; every node is in exactly
/// one (isolated nodes form their own).
pub fn components(g: &Graph) -> Vec<Vec<usize>> {
    let n = g.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for (a, nbrs) in g.adj.iter().enumerate() {
        for &(b, _) in nbrs {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut by: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in 0..n {
        let r = find(&mut parent, x);
        by.entry(r).or_default().push(x);
    }
    by.into_values().collect()
}

/// Betweenness centrality by Brandes' algorithm on the unweighted graph (hops), for undirected
/// graphs: each unordered pair (s, t) counts once, so a path's middle node of P3 scores 1.
pub fn betweenness(g: &Graph) -> Vec<f64> {
    let n = g.len();
    let mut cb = vec![0.0; n];
    let mut sigma = vec![0.0f64; n];
    let mut dist = vec![-1i64; n];
    let mut delta = vec![0.0f64; n];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for s in 0..n {
        if g.adj[s].is_empty() {
            continue;
        }
        let mut stack = Vec::new();
        let mut touched = vec![s];
        sigma[s] = 1.0;
        dist[s] = 0;
        let mut q = VecDeque::from([s]);
        while let Some(v) = q.pop_front() {
            stack.push(v);
            for &(w, _) in &g.adj[v] {
                if dist[w] < 0 {
                    dist[w] = dist[v] + 1;
                    touched.push(w);
                    q.push_back(w);
                }
                if dist[w] == dist[v] + 1 {
                    sigma[w] += sigma[v];
                    preds[w].push(v);
                }
            }
        }
        while let Some(w) = stack.pop() {
            for &v in &preds[w] {
                delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
            }
            if w != s {
                cb[w] += delta[w];
            }
        }
        for &v in &touched {
            sigma[v] = 0.0;
            dist[v] = -1;
            delta[v] = 0.0;
            preds[v].clear();
        }
    }
    cb.iter().map(|x| x / 2.0).collect()
}

/// Communities by the Louvain method (Blondel et al. 2008) on the weighted graph: nodes move to
/// the neighbouring community with the largest modularity gain until none improves, then
/// communities become nodes and the process repeats. Deterministic (nodes visited in order, ties
/// keep the current community). Returns a community number per node, numbered by first node.
pub fn louvain(g: &Graph) -> Vec<usize> {
    let n = g.len();
    let mut membership: Vec<usize> = (0..n).collect();
    // Current level: symmetric weights incl. self loops (a self loop weight counts twice in k).
    let mut adj: Vec<BTreeMap<usize, f64>> = g
        .adj
        .iter()
        .enumerate()
        .map(|(a, nb)| {
            let mut m = BTreeMap::new();
            for &(b, w) in nb {
                *m.entry(b).or_insert(0.0) += if a == b { 2.0 * w } else { w };
            }
            m
        })
        .collect();
    loop {
        let nn = adj.len();
        let k: Vec<f64> = adj.iter().map(|m| m.values().sum()).collect();
        let m2: f64 = k.iter().sum();
        if m2 == 0.0 {
            break;
        }
        let mut comm: Vec<usize> = (0..nn).collect();
        let mut tot: Vec<f64> = k.clone();
        let mut moved_any = false;
        loop {
            let mut moved = false;
            for i in 0..nn {
                let ci = comm[i];
                let mut links: BTreeMap<usize, f64> = BTreeMap::new();
                for (&j, &w) in &adj[i] {
                    if j != i {
                        *links.entry(comm[j]).or_insert(0.0) += w;
                    }
                }
                tot[ci] -= k[i];
                let gain = |c: usize, kin: f64| kin - tot[c] * k[i] / m2;
                let mut best = ci;
                let mut best_gain = gain(ci, links.get(&ci).copied().unwrap_or(0.0));
                for (&c, &kin) in &links {
                    let gc = gain(c, kin);
                    if gc > best_gain + 1e-12 {
                        best = c;
                        best_gain = gc;
                    }
                }
                tot[best] += k[i];
                if best != ci {
                    comm[i] = best;
                    moved = true;
                    moved_any = true;
                }
            }
            if !moved {
                break;
            }
        }
        if !moved_any {
            break;
        }
        // Renumber and aggregate.
        let mut renum: BTreeMap<usize, usize> = BTreeMap::new();
        for &c in &comm {
            let next = renum.len();
            renum.entry(c).or_insert(next);
        }
        for m in membership.iter_mut() {
            *m = renum[&comm[*m]];
        }
        let mut next: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); renum.len()];
        for (i, nb) in adj.iter().enumerate() {
            for (&j, &w) in nb {
                *next[renum[&comm[i]]].entry(renum[&comm[j]]).or_insert(0.0) += w;
            }
        }
        adj = next;
    }
    // Number communities by their first node.
    let mut renum: HashMap<usize, usize> = HashMap::new();
    membership
        .iter()
        .map(|&c| {
            let next = renum.len();
            *renum.entry(c).or_insert(next)
        })
        .collect()
}

/// Modularity of a partition (for tests and reports).
pub fn modularity(g: &Graph, comm: &[usize]) -> f64 {
    let k: Vec<f64> = g
        .adj
        .iter()
        .map(|nb| nb.iter().map(|x| x.1).sum())
        .collect();
    let m2: f64 = k.iter().sum();
    if m2 == 0.0 {
        return 0.0;
    }
    let mut q = 0.0;
    for (i, nb) in g.adj.iter().enumerate() {
        for &(j, w) in nb {
            if comm[i] == comm[j] {
                q += w;
            }
        }
    }
    let mut tot: HashMap<usize, f64> = HashMap::new();
    for (i, &c) in comm.iter().enumerate() {
        *tot.entry(c).or_default() += k[i];
    }
    q / m2 - tot.values().map(|t| (t / m2) * (t / m2)).sum::<f64>()
}

/// A candidate network.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Member incident ids, sorted.
    pub incidents: Vec<String>,
    /// Total evidence (sum of link scores).
    pub score: f64,
    /// Indices into [`Analysis::links`].
    pub links: Vec<usize>,
    /// Louvain communities within it (incident ids).
    pub communities: Vec<Vec<String>>,
    /// Brokers: incidents with betweenness > 0, highest first.
    pub brokers: Vec<(String, f64)>,
}

/// The result of the analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Kept links (score ≥ `min_score`).
    pub links: Vec<Link>,
    /// Hub identifiers ignored (`kind:value`, df), most named first.
    pub hubs: Vec<(String, usize)>,
    /// Candidate networks, highest evidence first.
    pub candidates: Vec<Candidate>,
    /// Louvain community per incident (`None` for incidents without links).
    pub community: Vec<Option<usize>>,
    /// Betweenness per incident.
    pub betweenness: Vec<f64>,
}

/// Runs the analysis (see the module docs).
pub fn analyse(incidents: &[Incident], opts: &NetworkOptions) -> Analysis {
    let _span = tracing::info_span!("network", incidents = incidents.len()).entered();
    let n = incidents.len();
    // Postings: identifier → (incident, confidence), one entry per incident (highest confidence).
    let mut postings: HashMap<(IdentifierKind, &str), Vec<(usize, f32)>> = HashMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        for id in &inc.identifiers {
            let p = postings.entry((id.kind, id.value.as_str())).or_default();
            match p.last_mut() {
                Some(last) if last.0 == i => last.1 = last.1.max(id.confidence),
                _ => p.push((i, id.confidence)),
            }
        }
    }
    let mut pairs: HashMap<(usize, usize), Vec<Evidence>> = HashMap::new();
    let mut hubs = Vec::new();
    // Only identifiers named twice or more can link (most are named once).
    let mut keys: Vec<&(IdentifierKind, &str)> = postings
        .iter()
        .filter(|(_, p)| p.len() >= 2)
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    for key in keys {
        let p = &postings[key];
        let df = p.len();
        if df > opts.hub_cap {
            hubs.push((format!("{}:{}", key.0.name(), key.1), df));
            continue;
        }
        let w = weight(key.0, df, n, opts.hub_cap);
        for x in 0..p.len() {
            for y in x + 1..p.len() {
                let (a, b) = (p[x].0.min(p[y].0), p[x].0.max(p[y].0));
                pairs.entry((a, b)).or_default().push(Evidence {
                    kind: key.0,
                    value: key.1.to_string(),
                    other_value: key.1.to_string(),
                    df,
                    weight: w * f64::from(p[x].1.min(p[y].1)),
                    distance: None,
                });
            }
        }
    }
    // Near PDQ matches through the exact Hamming index (distinct values, 0 < distance ≤ r).
    let pdq: Vec<(Hash256, &str)> = postings
        .keys()
        .filter(|(k, _)| *k == IdentifierKind::MediaHash)
        .filter_map(|(_, v)| Some((Hash256::from_hex(v.strip_prefix("pdq:")?).ok()?, *v)))
        .filter(|(_, v)| postings[&(IdentifierKind::MediaHash, *v)].len() <= opts.hub_cap)
        .collect();
    let index =
        vigil_index::Index::from_pairs(pdq.iter().enumerate().map(|(i, (h, _))| (*h, i as u64)));
    for (qi, (h, v)) in pdq.iter().enumerate() {
        for m in index.query(h, opts.pdq_threshold) {
            let oi = m.id as usize;
            if oi <= qi || m.distance == 0 {
                continue;
            }
            let ov = pdq[oi].1;
            let pa = &postings[&(IdentifierKind::MediaHash, *v)];
            let pb = &postings[&(IdentifierKind::MediaHash, ov)];
            let df = pa.len() + pb.len();
            let w = weight(IdentifierKind::MediaHash, df, n, opts.hub_cap.max(df));
            for &(ia, ca) in pa {
                for &(ib, cb) in pb {
                    if ia == ib {
                        continue;
                    }
                    let (a, b, va, vb) = if ia < ib {
                        (ia, ib, *v, ov)
                    } else {
                        (ib, ia, ov, *v)
                    };
                    pairs.entry((a, b)).or_default().push(Evidence {
                        kind: IdentifierKind::MediaHash,
                        value: va.to_string(),
                        other_value: vb.to_string(),
                        df,
                        weight: w * f64::from(ca.min(cb)),
                        distance: Some(m.distance),
                    });
                }
            }
        }
    }
    let mut links: Vec<Link> = pairs
        .into_iter()
        .map(|((a, b), evidence)| Link {
            a,
            b,
            score: evidence.iter().map(|e| e.weight).sum(),
            evidence,
        })
        .filter(|l| l.score >= opts.min_score)
        .collect();
    links.sort_by_key(|l| (l.a, l.b));
    hubs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // The graph algorithms run on the linked incidents only (most incidents have no link).
    let mut nodes: Vec<usize> = links.iter().flat_map(|l| [l.a, l.b]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let pos: HashMap<usize, usize> = nodes.iter().enumerate().map(|(p, &x)| (x, p)).collect();
    let g = Graph::new(
        nodes.len(),
        &links
            .iter()
            .map(|l| (pos[&l.a], pos[&l.b], l.score))
            .collect::<Vec<_>>(),
    );
    let comm_c = louvain(&g);
    let bc_c = betweenness(&g);
    let mut community = vec![None; n];
    let mut bc = vec![0.0; n];
    for (p, &x) in nodes.iter().enumerate() {
        community[x] = Some(comm_c[p]);
        bc[x] = bc_c[p];
    }
    let mut link_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (li, l) in links.iter().enumerate() {
        link_of.entry(l.a).or_default().push(li);
    }
    let mut candidates: Vec<Candidate> = components(&g)
        .into_iter()
        .filter(|c| c.len() >= 2)
        .map(|c| c.into_iter().map(|p| nodes[p]).collect::<Vec<usize>>())
        .map(|c| {
            let mut ls: Vec<usize> = c
                .iter()
                .flat_map(|x| link_of.get(x).cloned().unwrap_or_default())
                .collect();
            ls.sort();
            let mut comms: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for &x in &c {
                comms
                    .entry(community[x].unwrap_or(usize::MAX))
                    .or_default()
                    .push(incidents[x].id.clone());
            }
            let mut brokers: Vec<(String, f64)> = c
                .iter()
                .filter(|&&x| bc[x] > 0.0)
                .map(|&x| (incidents[x].id.clone(), bc[x]))
                .collect();
            brokers.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut ids: Vec<String> = c.iter().map(|&x| incidents[x].id.clone()).collect();
            ids.sort();
            Candidate {
                incidents: ids,
                score: ls.iter().map(|&l| links[l].score).sum(),
                links: ls,
                communities: comms.into_values().collect(),
                brokers,
            }
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.incidents.cmp(&b.incidents))
    });
    tracing::info!(
        links = links.len(),
        candidates = candidates.len(),
        hubs = hubs.len(),
        "network analysed"
    );
    Analysis {
        links,
        hubs,
        candidates,
        community,
        betweenness: bc,
    }
}

/// A plain-text report of the `top` candidate networks, highest evidence first: members,
/// communities, brokers and every link in words, then the hubs set aside.
pub fn report(analysis: &Analysis, incidents: &[Incident], top: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (k, c) in analysis.candidates.iter().take(top).enumerate() {
        let _ = writeln!(
            out,
            "candidate network {}: {} incidents, evidence {:.2}, {} links, {} communities",
            k + 1,
            c.incidents.len(),
            c.score,
            c.links.len(),
            c.communities.len()
        );
        let _ = writeln!(out, "  incidents: {}", c.incidents.join(", "));
        if c.communities.len() > 1 {
            for (i, m) in c.communities.iter().enumerate() {
                let _ = writeln!(out, "  community {}: {}", i + 1, m.join(", "));
            }
        }
        if !c.brokers.is_empty() {
            let b: Vec<String> = c
                .brokers
                .iter()
                .map(|(id, v)| format!("{id} ({v:.1})"))
                .collect();
            let _ = writeln!(out, "  brokers (betweenness): {}", b.join(", "));
        }
        for &l in &c.links {
            let _ = writeln!(out, "  - {}", analysis.links[l].explain(incidents));
        }
    }
    if !analysis.hubs.is_empty() {
        let h: Vec<String> = analysis
            .hubs
            .iter()
            .map(|(v, df)| format!("{v} ({df})"))
            .collect();
        let _ = writeln!(
            out,
            "hubs set aside (named by too many incidents to link them): {}",
            h.join(", ")
        );
    }
    out
}
