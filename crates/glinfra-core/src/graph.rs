//! The validated dependency graph of a stack (a petgraph DAG).

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::kind::Kind;
use crate::regions;
use crate::stack::{Declaration, ResourceId, Stack};
use crate::validate::subnet_index;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::HashMap;
use std::sync::Arc;

/// A stack whose every check passed: references resolve, there is no cycle,
/// and every spec is valid. Edges run from a dependency to its dependent; node
/// `i` is the stack's declaration `i`, which the graph shares with the stack.
#[derive(Clone, Debug)]
pub struct ResourceGraph {
    stack_name: String,
    graph: DiGraph<(), ()>,
    declarations: Arc<Vec<Arc<Declaration>>>,
    index: Arc<HashMap<ResourceId, usize>>,
    order: Vec<usize>,
    policies: crate::policy::Policies,
    violations: Vec<crate::policy::Violation>,
}

impl ResourceGraph {
    /// Validates `stack` and builds its graph, reporting every problem at once:
    /// duplicate names, dangling references, unknown outputs, cycles (naming each
    /// resource on them), unknown regions, and each spec's own checks.
    pub fn build(stack: &Stack) -> Result<ResourceGraph, Diagnostics> {
        let mut problems: Vec<Diagnostic> = stack.duplicates.clone();
        if let Some(problem) = crate::names::stack_name_problem(stack.name()) {
            problems.push(Diagnostic::new(format!("stack name {problem}")).field("name"));
        }
        let declarations = stack.declarations.clone();
        let index = stack.index.clone();
        let mut graph: DiGraph<(), ()> =
            DiGraph::with_capacity(declarations.len(), declarations.len() * 3);
        for _ in declarations.iter() {
            graph.add_node(());
        }
        let node = |id: &str| index.get(id).map(|&i| NodeIndex::new(i));
        let located = |decl: &Declaration, d: Diagnostic| {
            let mut d = d.resource(decl.id.clone());
            d.file = decl.origin.clone();
            d
        };
        let subnets = subnet_index(stack);
        for (i, decl) in declarations.iter().enumerate() {
            if !regions::is_known_region(&decl.region) {
                problems.push(located(
                    decl,
                    Diagnostic::new(format!("unknown region `{}`", decl.region)).field("region"),
                ));
            }
            for r in decl.references() {
                match stack.get(&r.resource) {
                    None => problems.push(located(
                        decl,
                        Diagnostic::new(format!(
                            "refers to `{}.{}`, but no resource `{}` is declared",
                            r.resource, r.output, r.resource
                        )),
                    )),
                    Some(target) if !target.kind.has_output(&r.output) => problems.push(located(
                        decl,
                        Diagnostic::new(format!(
                            "refers to output `{}` of `{}`, but a {} has only: {}",
                            r.output,
                            r.resource,
                            target.kind,
                            target.kind.outputs().collect::<Vec<_>>().join(", ")
                        )),
                    )),
                    Some(_) => {}
                }
            }
            for dep in &decl.depends_on {
                if stack.get(dep).is_none() {
                    problems.push(located(
                        decl,
                        Diagnostic::new(format!(
                            "depends on `{dep}`, but no such resource is declared"
                        ))
                        .field("depends_on"),
                    ));
                }
            }
            let me = NodeIndex::new(i);
            let mut edge = |dep: &str| {
                if let Some(from) = node(dep) {
                    graph.update_edge(from, me, ());
                }
            };
            decl.for_each_dependency(&mut edge);
            decl.depends_on.iter().for_each(|d| edge(d));
            for problem in crate::names::tag_problems(&decl.tags) {
                problems.push(located(decl, Diagnostic::new(problem).field("tags")));
            }
            (decl.kind.info().check)(stack, decl, &mut problems, &subnets);
        }
        let seconds = second_singletons(declarations.iter().map(|d| ((), &**d)));
        problems.extend(seconds.map(|((), decl, (), first)| {
            located(
                decl,
                Diagnostic::new(format!(
                    "a second {} {}: AWS allows {} (`{first}` is declared already); declare it once",
                    decl.kind,
                    decl.kind.one_per().place(&decl.region),
                    decl.kind.one_per().describe(),
                )),
            )
        }));
        for scc in tarjan_scc(&graph) {
            let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
            if scc.len() > 1 || self_loop {
                let mut names: Vec<&str> = scc
                    .iter()
                    .map(|&n| declarations[n.index()].id.as_str())
                    .collect();
                names.sort();
                let first = stack.get(names[0]).expect("node of a declaration");
                problems.push(located(
                    first,
                    Diagnostic::new(format!(
                        "dependency cycle between {}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
        }
        // Policies judge a program that is otherwise valid (a malformed spec is
        // not one they can read).
        let violations = if problems.is_empty() {
            stack.policies().evaluate(&declarations, None)
        } else {
            Vec::new()
        };
        problems.extend(
            violations
                .iter()
                .filter(|v| v.is_mandatory())
                .map(|v| v.diagnostic()),
        );
        if !problems.is_empty() {
            problems.sort();
            problems.dedup();
            return Err(Diagnostics(problems));
        }
        // Kahn's algorithm, taking ready resources in declaration order, so plans
        // read in the order the program declared things.
        let mut indegree: Vec<usize> = graph
            .node_indices()
            .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = graph
            .node_indices()
            .filter(|n| indegree[n.index()] == 0)
            .map(|n| Reverse(n.index()))
            .collect();
        let mut order = Vec::with_capacity(graph.node_count());
        while let Some(Reverse(i)) = ready.pop() {
            let n = NodeIndex::new(i);
            order.push(i);
            for m in graph.neighbors_directed(n, Direction::Outgoing) {
                indegree[m.index()] -= 1;
                if indegree[m.index()] == 0 {
                    ready.push(Reverse(m.index()));
                }
            }
        }
        Ok(ResourceGraph {
            stack_name: stack.name().to_string(),
            graph,
            declarations,
            index,
            order,
            policies: stack.policies().clone(),
            violations,
        })
    }

    /// The advisory violations of the stack's policies (mandatory ones stopped
    /// the build).
    pub fn violations(&self) -> &[crate::policy::Violation] {
        &self.violations
    }

    /// The stack's policies, which planning runs again with the plan.
    pub fn policies(&self) -> &crate::policy::Policies {
        &self.policies
    }

    /// Every declaration, in the order declared.
    pub fn declarations(&self) -> &[Arc<Declaration>] {
        &self.declarations
    }

    /// The stack's name.
    pub fn stack_name(&self) -> &str {
        &self.stack_name
    }

    /// Declarations in dependency order (dependencies first).
    pub fn in_order(&self) -> impl Iterator<Item = &Declaration> {
        self.order.iter().map(|&i| &*self.declarations[i])
    }

    /// [`in_order`](Self::in_order), each declaration as the shared value a
    /// plan step holds.
    pub fn in_order_shared(&self) -> impl Iterator<Item = &Arc<Declaration>> {
        self.order.iter().map(|&i| &self.declarations[i])
    }

    /// The declaration `id`.
    pub fn get(&self, id: &str) -> Option<&Declaration> {
        self.index.get(id).map(|&i| &*self.declarations[i])
    }

    /// The number of resources.
    pub fn len(&self) -> usize {
        self.declarations.len()
    }

    /// True when the stack declares nothing.
    pub fn is_empty(&self) -> bool {
        self.declarations.is_empty()
    }

    /// The number of dependency edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// A digest of the declared program (SHA-256 of every declaration, in
    /// logical-id order, as JSON): equal exactly when the program declares the
    /// same resources with the same specs, tags and options. A saved plan records
    /// it, so applying it after the program changed is refused.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.stack_name.as_bytes());
        let mut in_id_order: Vec<&Declaration> = self.declarations.iter().map(|d| &**d).collect();
        in_id_order.sort_by(|a, b| a.id.cmp(&b.id));
        for decl in in_id_order {
            hash.update(decl.id.as_bytes());
            serde_json::to_writer(&mut hash, decl).expect("declarations serialise");
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The declarations of kinds AWS allows one of per account (and region) that come
/// after a first one in the same place, each with the first: `(owner, declaration,
/// first's owner, first's logical id)`. The owner tells declarations of several
/// stacks apart (a fleet runs in one account); one stack's graph passes `()`.
pub fn second_singletons<'d, O: Copy>(
    declarations: impl IntoIterator<Item = (O, &'d Declaration)>,
) -> impl Iterator<Item = (O, &'d Declaration, O, &'d str)> {
    let mut first: HashMap<(Kind, Option<&'d str>), (O, &'d str)> = HashMap::new();
    declarations.into_iter().filter_map(move |(owner, decl)| {
        let one_per = decl.kind.one_per();
        if !one_per.is_single() {
            return None;
        }
        let key = (decl.kind, one_per.scope(&decl.region));
        match first.get(&key) {
            Some(&(first_owner, id)) => Some((owner, decl, first_owner, id)),
            None => {
                first.insert(key, (owner, decl.id.as_str()));
                None
            }
        }
    })
}
