//! Declaring infrastructure: a [`Stack`] of typed resources.
//!
//! ```
//! use glinfra_core::{Stack, spec::ec2::{VpcSpec, SubnetSpec}};
//! let mut stack = Stack::new("demo", "us-east-1");
//! let vpc = stack.add("vpc", VpcSpec::new("10.0.0.0/16"));
//! let subnet = stack.add("subnet-a", SubnetSpec::new(vpc.id(), "10.0.0.0/20", "us-east-1a"));
//! assert_eq!(stack.get("subnet-a").unwrap().dependencies().len(), 1);
//! # let _ = subnet;
//! ```

use crate::diagnostics::Diagnostic;
use crate::input::{collect_refs, Input, OutputRef};
use crate::kind::Kind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;

/// The logical id of a resource: unique within its stack, stable across runs.
pub type ResourceId = String;

/// A typed resource spec: what the user declares for one resource kind.
pub trait ResourceSpec: Serialize + DeserializeOwned + Clone + fmt::Debug {
    /// The kind this spec declares.
    const KIND: Kind;

    /// Checks the spec's own values (and, through `cx`, those it refers to),
    /// reporting every problem through `cx`. Does no IO.
    fn check(&self, cx: &mut SpecCheck<'_>) {
        let _ = cx;
    }
}

/// Options that apply to any resource.
#[derive(Clone, Debug, Default)]
pub struct ResourceOptions {
    /// The region, if not the stack's default.
    pub region: Option<String>,
    /// Explicit dependencies, beyond those created by passing outputs.
    pub depends_on: Vec<ResourceId>,
    /// Extra tags for this resource.
    pub tags: BTreeMap<String, String>,
    /// The file the resource's values came from, for error messages.
    pub origin: Option<String>,
}

/// One declared resource in its generic, serialisable form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    /// Logical id.
    pub id: ResourceId,
    /// Kind.
    pub kind: Kind,
    /// AWS region it lives in.
    pub region: String,
    /// The spec as JSON; outputs of other resources appear as `{"$output": ...}`.
    pub props: Value,
    /// All tags, ownership tags included.
    pub tags: BTreeMap<String, String>,
    /// Explicit dependencies (`depends_on`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub depends_on: BTreeSet<ResourceId>,
    /// The file its values came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Declaration {
    /// Every output of another resource this one's spec refers to.
    pub fn references(&self) -> BTreeSet<OutputRef> {
        let mut refs = BTreeSet::new();
        collect_refs(&self.props, &mut refs);
        refs
    }

    /// The logical ids this resource depends on: referenced and explicit.
    pub fn dependencies(&self) -> BTreeSet<ResourceId> {
        let mut deps: BTreeSet<ResourceId> =
            self.references().into_iter().map(|r| r.resource).collect();
        deps.extend(self.depends_on.iter().cloned());
        deps
    }

    /// The spec, typed.
    pub fn spec<S: ResourceSpec>(&self) -> Result<S, serde_json::Error> {
        serde_json::from_value(self.props.clone())
    }
}

/// A handle to a declared resource: its outputs can be passed to other specs.
#[derive(Debug)]
pub struct Resource<S> {
    id: ResourceId,
    region: String,
    _spec: PhantomData<fn() -> S>,
}

impl<S> Clone for Resource<S> {
    fn clone(&self) -> Self {
        Resource {
            id: self.id.clone(),
            region: self.region.clone(),
            _spec: PhantomData,
        }
    }
}

impl<S> Resource<S> {
    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.id
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Any named output, as an input for another spec.
    pub fn output(&self, name: &str) -> Input<String> {
        Input::output(self.id.clone(), name)
    }
}

/// The subnets of each VPC with a valid CIDR, in declaration order, keyed by the
/// VPC input as JSON. Built once per validation, so checks stay linear in stack size.
pub(crate) type SubnetIndex = std::collections::HashMap<String, Vec<(ResourceId, ipnet::Ipv4Net)>>;

/// Context passed to [`ResourceSpec::check`].
pub struct SpecCheck<'a> {
    pub(crate) stack: &'a Stack,
    pub(crate) decl: &'a Declaration,
    pub(crate) out: &'a mut Vec<Diagnostic>,
    pub(crate) subnets: &'a SubnetIndex,
}

impl SpecCheck<'_> {
    /// Reports a problem with `field` of the resource being checked.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let mut d = Diagnostic::new(message)
            .resource(self.decl.id.clone())
            .field(field);
        d.file = self.decl.origin.clone();
        self.out.push(d);
    }

    /// The region of the resource being checked.
    pub fn region(&self) -> &str {
        &self.decl.region
    }

    /// The logical id of the resource being checked.
    pub fn id(&self) -> &str {
        &self.decl.id
    }

    /// The declaration an input refers to, if it is a reference to a declared resource.
    pub fn referenced<T>(&self, input: &Input<T>) -> Option<&Declaration> {
        input.reference().and_then(|r| self.stack.get(&r.resource))
    }

    /// Every declaration in the stack.
    pub fn declarations(&self) -> &[Declaration] {
        &self.stack.declarations
    }

    /// The subnets declared in `vpc` (with valid CIDRs), in declaration order.
    pub fn subnets_in(&self, vpc: &Input<String>) -> &[(ResourceId, ipnet::Ipv4Net)] {
        let key = serde_json::to_string(vpc).expect("inputs serialise");
        self.subnets
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// A set of resources declared by a program, possibly over several regions.
#[derive(Clone, Debug)]
pub struct Stack {
    name: String,
    default_region: String,
    default_tags: BTreeMap<String, String>,
    origin: Option<String>,
    pub(crate) declarations: Vec<Declaration>,
    index: HashMap<ResourceId, usize>,
    pub(crate) duplicates: Vec<Diagnostic>,
    exports: Vec<(String, Input<String>)>,
}

impl Stack {
    /// A new, empty stack named `name` whose resources default to `region`.
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        Stack {
            name: name.into(),
            default_region: region.into(),
            default_tags: BTreeMap::new(),
            origin: None,
            declarations: Vec::new(),
            index: HashMap::new(),
            duplicates: Vec::new(),
            exports: Vec::new(),
        }
    }

    /// Exports a value as a stack output, printed after apply (`vpc_id`, ...).
    pub fn export(&mut self, name: impl Into<String>, value: Input<String>) {
        self.exports.push((name.into(), value));
    }

    /// The stack outputs, in the order exported.
    pub fn exports(&self) -> &[(String, Input<String>)] {
        &self.exports
    }

    /// Adds a tag to every resource declared from now on.
    pub fn tag(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.default_tags.insert(key.into(), value.into());
        self
    }

    /// Sets the file that resources declared from now on take their values from.
    pub fn set_origin(&mut self, origin: Option<String>) -> &mut Self {
        self.origin = origin;
        self
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The default region.
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// Declares a resource in the default region.
    pub fn add<S: ResourceSpec>(&mut self, id: impl Into<String>, spec: S) -> Resource<S> {
        self.add_with(id, spec, ResourceOptions::default())
    }

    /// Declares a resource in `region`.
    pub fn add_in<S: ResourceSpec>(
        &mut self,
        region: impl Into<String>,
        id: impl Into<String>,
        spec: S,
    ) -> Resource<S> {
        let options = ResourceOptions {
            region: Some(region.into()),
            ..Default::default()
        };
        self.add_with(id, spec, options)
    }

    /// Declares a resource with explicit options.
    pub fn add_with<S: ResourceSpec>(
        &mut self,
        id: impl Into<String>,
        spec: S,
        options: ResourceOptions,
    ) -> Resource<S> {
        let id = id.into();
        let region = options
            .region
            .unwrap_or_else(|| self.default_region.clone());
        let props = serde_json::to_value(&spec).expect("specs always serialise to JSON");
        let mut tags = self.default_tags.clone();
        tags.extend(options.tags);
        if S::KIND.taggable() {
            tags.insert(crate::TAG_STACK.to_string(), self.name.clone());
            tags.insert(crate::TAG_LOGICAL_ID.to_string(), id.clone());
        } else {
            tags.clear();
        }
        let decl = Declaration {
            id: id.clone(),
            kind: S::KIND,
            region: region.clone(),
            props,
            tags,
            depends_on: options.depends_on.into_iter().collect(),
            origin: options.origin.or_else(|| self.origin.clone()),
        };
        if self.index.contains_key(&id) {
            let mut d = Diagnostic::new(format!(
                "duplicate resource name `{id}`: it is declared more than once"
            ))
            .resource(id.clone());
            d.file = decl.origin.clone();
            self.duplicates.push(d);
        } else {
            self.index.insert(id.clone(), self.declarations.len());
            self.declarations.push(decl);
        }
        Resource {
            id,
            region,
            _spec: PhantomData,
        }
    }

    /// Adds an explicit dependency: `resource` waits for `on`.
    pub fn depends_on<A, B>(&mut self, resource: &Resource<A>, on: &Resource<B>) {
        if let Some(&i) = self.index.get(&resource.id) {
            self.declarations[i].depends_on.insert(on.id.clone());
        }
    }

    /// Sets one tag on the resource `id` (no effect on kinds that take no tags).
    pub fn set_tag(&mut self, id: &str, key: impl Into<String>, value: impl Into<String>) {
        if let Some(&i) = self.index.get(id) {
            if self.declarations[i].kind.taggable() {
                self.declarations[i].tags.insert(key.into(), value.into());
            }
        }
    }

    /// The declaration with logical id `id`.
    pub fn get(&self, id: &str) -> Option<&Declaration> {
        self.index.get(id).map(|&i| &self.declarations[i])
    }

    /// Every declaration, in the order declared.
    pub fn declarations(&self) -> &[Declaration] {
        &self.declarations
    }
}
