//! Validation entry points: each kind's declaration points at [`check_declaration`].

use crate::diagnostics::Diagnostic;
use crate::spec::ec2;
use crate::stack::Declared;
use crate::stack::{Declaration, ResourceSpec, SpecCheck, Stack, SubnetIndex};

/// Indexes the subnets of every VPC once.
pub(crate) fn subnet_index(stack: &Stack) -> SubnetIndex {
    let mut index = SubnetIndex::new();
    for decl in stack
        .declarations()
        .iter()
        .filter(|d| d.kind == ec2::SubnetSpec::KIND)
    {
        let Ok(spec) = decl.spec::<ec2::SubnetSpec>() else {
            continue;
        };
        if let Ok(net) = spec.cidr_block.parse() {
            let key = serde_json::to_string(&spec.vpc_id).expect("inputs serialise");
            index.entry(key).or_default().push((decl.id.clone(), net));
        }
    }
    index
}

/// Validates `decl` as a `S`: its own `check`, or a malformed-spec error. Every
/// kind's [`crate::KindInfo::check`] points here.
pub fn check_declaration<S: ResourceSpec>(
    stack: &Stack,
    decl: &Declaration,
    out: &mut Vec<Diagnostic>,
    subnets: &SubnetIndex,
) {
    for (field, problem) in decl.lifecycle.problems(decl.kind) {
        let mut d = Diagnostic::new(problem)
            .resource(decl.id.clone())
            .field(field);
        d.file = decl.origin.clone();
        out.push(d);
    }
    match decl.spec::<S>() {
        Ok(spec) => spec.check(&mut SpecCheck {
            stack,
            decl,
            out,
            subnets,
        }),
        Err(e) => {
            let mut d = Diagnostic::new(format!("malformed {} spec: {e}", decl.kind))
                .resource(decl.id.clone());
            d.file = decl.origin.clone();
            out.push(d);
        }
    }
}
