//! `#[derive(Resource)]`: the one declaration of a resource kind.
//!
//! ```text
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Resource)]
//! #[resource(kind = "aws:ec2/vpc", outputs(id: String, arn: String))]
//! pub struct VpcSpec {
//!     #[resource(replace)]
//!     pub cidr_block: String,
//!     pub enable_dns_support: bool,
//! }
//! ```
//!
//! generates, from that one place:
//! - `VpcOutputs { id: String, arn: String }`, the kind's typed outputs;
//! - `impl Declared for VpcSpec` with the kind's `KindInfo` (type name, outputs,
//!   every field, the fields marked `#[resource(replace)]`, whether it takes tags,
//!   and its validation entry point);
//! - `Resource<VpcSpec>::id()` and `::arn()`, typed inputs for other specs.
//!
//! `#[resource(untagged)]` marks kinds whose AWS API takes no tags.
//! `#[resource(change_rule = path::to::fn)]` on a field names its value-dependent
//! rule (a `glinfra_core::ChangeRuleFn`): in place, replace or refuse, decided from
//! the recorded and planned values. A field has `replace` or a rule, not both.
//! `#[resource(one_per = "account-region")]` (or `"account"`) marks kinds AWS allows
//! one resource of per account and region (or per account).
//! `#[resource(unique)]` on a field says AWS allows only one resource with its value
//! (a name, or one per VPC): a replacement creates the new resource before deleting
//! the old one only when one of these fields changes; otherwise it deletes first.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Data, DeriveInput, Fields, Ident, LitStr, Path, Token, Type};

/// One `name: Type` in `outputs(...)`.
struct OutputDecl {
    doc: Vec<syn::Attribute>,
    name: Ident,
    ty: Type,
}

impl Parse for OutputDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let doc = input.call(syn::Attribute::parse_outer)?;
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        Ok(OutputDecl { doc, name, ty })
    }
}

#[derive(Default)]
struct KindAttrs {
    kind: Option<LitStr>,
    outputs: Vec<OutputDecl>,
    untagged: bool,
    one_per: Option<LitStr>,
}

fn parse_kind_attrs(input: &DeriveInput) -> syn::Result<KindAttrs> {
    let mut attrs = KindAttrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("resource")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("kind") {
                attrs.kind = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("one_per") {
                let scope: LitStr = meta.value()?.parse()?;
                if !matches!(scope.value().as_str(), "account-region" | "account") {
                    return Err(syn::Error::new(
                        scope.span(),
                        "expected `one_per = \"account-region\"` or `\"account\"`",
                    ));
                }
                attrs.one_per = Some(scope);
                Ok(())
            } else if meta.path.is_ident("untagged") {
                attrs.untagged = true;
                Ok(())
            } else if meta.path.is_ident("outputs") {
                let content;
                syn::parenthesized!(content in meta.input);
                let list: Punctuated<OutputDecl, Token![,]> =
                    content.parse_terminated(OutputDecl::parse, Token![,])?;
                attrs.outputs.extend(list);
                Ok(())
            } else {
                Err(meta.error(
                    "expected `kind = \"...\"`, `outputs(...)`, `one_per = \"...\"` or `untagged`",
                ))
            }
        })?;
    }
    Ok(attrs)
}

/// Derives the kind declaration of a resource spec. See the crate docs.
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let attrs = parse_kind_attrs(input)?;
    let spec = &input.ident;
    let Some(type_name) = attrs.kind else {
        return Err(syn::Error::new(
            Span::call_site(),
            "#[derive(Resource)] needs #[resource(kind = \"aws:service/kind\")]",
        ));
    };
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            Span::call_site(),
            "a resource spec is a struct",
        ));
    };
    let mut fields = Vec::new();
    let mut replace = Vec::new();
    let mut unique: Vec<String> = Vec::new();
    let mut rule_fields: Vec<String> = Vec::new();
    let mut rule_fns: Vec<Path> = Vec::new();
    if let Fields::Named(named) = &data.fields {
        for field in &named.named {
            let name = field.ident.as_ref().expect("named field").to_string();
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("resource")) {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("replace") {
                        replace.push(name.clone());
                        Ok(())
                    } else if meta.path.is_ident("unique") {
                        unique.push(name.clone());
                        Ok(())
                    } else if meta.path.is_ident("change_rule") {
                        rule_fields.push(name.clone());
                        rule_fns.push(meta.value()?.parse()?);
                        Ok(())
                    } else {
                        Err(meta
                            .error("expected `replace`, `unique` or `change_rule = path::to::fn`"))
                    }
                })?;
            }
            if replace.contains(&name) && rule_fields.contains(&name) {
                return Err(syn::Error::new_spanned(
                    field,
                    "a field has `replace` or a `change_rule`, not both",
                ));
            }
            fields.push(name);
        }
    }

    let base = spec.to_string();
    let base = base.strip_suffix("Spec").unwrap_or(&base);
    let outputs_ident = format_ident!("{base}Outputs");
    let out_names: Vec<String> = attrs.outputs.iter().map(|o| o.name.to_string()).collect();
    let out_idents: Vec<&Ident> = attrs.outputs.iter().map(|o| &o.name).collect();
    let out_types: Vec<&Type> = attrs.outputs.iter().map(|o| &o.ty).collect();
    let out_type_names: Vec<String> = out_types
        .iter()
        .map(|t| quote!(#t).to_string().replace(' ', ""))
        .collect();
    let out_docs: Vec<TokenStream2> = attrs
        .outputs
        .iter()
        .map(|o| {
            let doc = &o.doc;
            if doc.is_empty() {
                let text = format!("The `{}` output.", o.name);
                quote!(#[doc = #text])
            } else {
                quote!(#(#doc)*)
            }
        })
        .collect();
    let taggable = !attrs.untagged;
    let one_per = match attrs.one_per.as_ref().map(LitStr::value).as_deref() {
        Some("account-region") => quote!(::glinfra_core::OnePer::AccountRegion),
        Some("account") => quote!(::glinfra_core::OnePer::Account),
        _ => quote!(::glinfra_core::OnePer::Many),
    };
    let outputs_doc = format!("The outputs of a [`{spec}`] once created.");
    let vis = &input.vis;

    Ok(quote! {
        #[doc = #outputs_doc]
        #[doc = ""]
        #[doc = "An output missing from a record (one made before the output was added) reads as empty."]
        #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default)]
        #vis struct #outputs_ident {
            #( #out_docs pub #out_idents: #out_types, )*
        }

        impl ::glinfra_core::Declared for #spec {
            const KIND: ::glinfra_core::Kind = ::glinfra_core::Kind::declare(&::glinfra_core::KindInfo {
                type_name: #type_name,
                outputs: &[ #( ::glinfra_core::OutputInfo { name: #out_names, ty: #out_type_names }, )* ],
                fields: &[ #( #fields, )* ],
                replace_fields: &[ #( #replace, )* ],
                unique_fields: &[ #( #unique, )* ],
                change_rules: &[ #( (#rule_fields, #rule_fns as ::glinfra_core::ChangeRuleFn), )* ],
                taggable: #taggable,
                one_per: #one_per,
                check: ::glinfra_core::check_declaration::<#spec>,
            });
            type Outputs = #outputs_ident;
        }

        impl ::glinfra_core::Resource<#spec> {
            #(
                #out_docs
                pub fn #out_idents(&self) -> ::glinfra_core::Input<#out_types> {
                    ::glinfra_core::Input::output(self.logical_id(), #out_names)
                }
            )*
        }
    })
}
