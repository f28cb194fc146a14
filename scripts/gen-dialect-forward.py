#!/usr/bin/env python3
"""Writes aigis-core/src/guard/dialect/forward.rs: the guard's wrapper dialect forwarding every
method of sqlparser's `Dialect` trait to the wrapped dialect (parse_prefix excepted).

Run after upgrading sqlparser: python3 scripts/gen-dialect-forward.py
"""
import json, os, re, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1"], cwd=root))
pkg = next(p for p in meta["packages"] if p["name"] == "sqlparser")
version = pkg["version"]
src = open(os.path.join(os.path.dirname(pkg["manifest_path"]), "src", "dialect", "mod.rs")).read()
start=src.index('pub trait Dialect')
# find end of trait: matching brace
i=src.index('{',start); depth=0
for j in range(i,len(src)):
    c=src[j]
    if c=='{': depth+=1
    elif c=='}':
        depth-=1
        if depth==0: end=j;break
body=src[i+1:end]
# extract fn signatures at 4-space indentation
sigs=[]
for m in re.finditer(r'\n    fn (\w+)(\s*(?:<[^>]*>)?)\((.*?)\)\s*(->\s*[^{;]+?)?\s*[{;]', body, re.S):
    sigs.append((m.group(1),m.group(2).strip(),' '.join(m.group(3).split()),(m.group(4) or '').strip()))
bools=[];others=[]
for name,gen,params,ret in sigs:
    if params=='&self' and ret=='-> bool': bools.append(name)
    else: others.append((name,gen,params,ret))

def args(params):
    out=[]
    for p in params.split(',')[1:]:
        p=p.strip()
        if not p: continue
        name=p.split(':')[0].replace('mut ','').strip()
        out.append((name.lstrip('_'), p.split(':',1)[1].strip()))
    return out
lines=[]
lines.append("//! Forwards every method of sqlparser's `Dialect` trait to the wrapped dialect, but for")
lines.append("//! `parse_prefix`, which tries the inner dialect's hook and then [`super::quick_prefix`].")
lines.append("//!")
lines.append(f"//! Generated from sqlparser {version}'s trait by `scripts/gen-dialect-forward.py`: after upgrading sqlparser,")
lines.append("//! run it again, or a method added to the trait would take its default here instead of the")
lines.append("//! wrapped dialect's (the debug-build parse comparison in `Guard::parse` would catch that on")
lines.append("//! any input it changes).")
lines.append("")
lines.append("use std::any::TypeId;")
lines.append("use std::iter::Peekable;")
lines.append("use std::str::Chars;")
lines.append("")
lines.append("use sqlparser::ast::{ColumnOption, Expr, GranteesType, Ident, ObjectNamePart, Statement};")
lines.append("use sqlparser::dialect::{Dialect as ParserDialect, Precedence};")
lines.append("use sqlparser::keywords::Keyword;")
lines.append("use sqlparser::parser::{Parser, ParserError};")
lines.append("")
lines.append("use super::Quick;")
lines.append("")
lines.append("/// `fn name(&self) -> bool { self.0.name() }` for each name.")
lines.append("macro_rules! forward_bool {")
lines.append("    ($($name:ident),* $(,)?) => { $(fn $name(&self) -> bool { self.0.$name() })* };")
lines.append("}")
lines.append("")
lines.append("impl<D: ParserDialect> ParserDialect for Quick<D> {")
for name,gen,params,ret in others:
    a=args(params)
    sig=', '.join(['&self']+[f"{n}: {t}" for n,t in a])
    call=', '.join(n for n,_ in a)
    if name=='parse_prefix':
        lines.append(f"    fn parse_prefix({sig}) {ret} {{")
        lines.append(f"        self.0.parse_prefix(parser).or_else(|| super::quick_prefix(parser))")
        lines.append("    }")
    else:
        lines.append(f"    fn {name}({sig}) {ret} {{")
        lines.append(f"        self.0.{name}({call})")
        lines.append("    }")
lines.append("    forward_bool!(")
cur="       "
for b in bools:
    if len(cur)+len(b)+2>110:
        lines.append(cur.rstrip()); cur="       "
    cur+=" "+b+","
lines.append(cur)
lines.append("    );")
lines.append("}")
out = os.path.join(root, 'aigis-core', 'src', 'guard', 'dialect', 'forward.rs')
open(out, 'w').write('\n'.join(lines) + '\n')
print(f'{out}: {len(sigs)} methods of sqlparser {version}')
