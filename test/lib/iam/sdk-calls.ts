/**
 * The AWS calls a Lambda function's code makes, derived from the code (not typed by hand): esbuild
 * tells which project files the function's bundle holds, and the TypeScript checker follows, from
 * the entry, every function, method and port implementation the code can reach and collects each
 * `new XxxCommand(` of an `@aws-sdk/client-*` package it finds. The drill's three functions share
 * one bundle, so for them the walk starts from the steps of the function's group (the step
 * registry) instead of from every step `runStep` dispatches; a function that runs one step by
 * name (`runStep('cleanup', ...)`, the abort cleanup) walks that step's code only.
 *
 * The walk over-approximates (a function referenced is taken as called); it cannot see a command
 * built from a string or an SDK call made through a paginator or `lib-storage` (the project uses
 * neither: {@link commandSites} lists every command site of a bundle, so the test can check that
 * each one is reached by some function).
 */
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { stepsOf } from '../../../functions/drill/drivers/aws/step-handler.ts';

/** IAM prefix of each SDK client package the project uses. */
export const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  'client-cloudformation': 'cloudformation',
  'client-dynamodb': 'dynamodb',
  'client-ecs': 'ecs',
  'client-kms': 'kms',
  'client-rds': 'rds',
  'client-s3': 's3',
  'client-secrets-manager': 'secretsmanager',
  'client-sfn': 'states',
  'client-sns': 'sns',
  'client-sqs': 'sqs',
};

/**
 * Commands whose IAM action is not `<prefix>:<name without "Command">` (AWS's Service
 * Authorization Reference).
 */
export const ACTION_EXCEPTIONS: Readonly<Record<string, string>> = {
  's3:ListObjectsV2': 's3:ListBucket',
  's3:HeadObject': 's3:GetObject',
  's3:DeleteObjects': 's3:DeleteObject',
};

/** The IAM action an SDK command needs (the rule: the command name, and the exceptions above). */
export function iamActionOf(call: SdkCall): string {
  const prefix = SERVICE_PREFIX[call.client];
  if (!prefix) throw new Error(`no IAM prefix for @aws-sdk/${call.client}: add it to SERVICE_PREFIX`);
  const action = `${prefix}:${call.command.replace(/Command$/, '')}`;
  return ACTION_EXCEPTIONS[action] ?? action;
}

export interface SdkCall {
  /** The client package, e.g. `client-rds`. */
  readonly client: string;
  /** The command class, e.g. `DescribeDBInstancesCommand`. */
  readonly command: string;
}

const key = (c: SdkCall) => `${c.client}:${c.command}`;

/** Project files (relative to `root`) esbuild puts into the bundle of `entry`, as Lambda bundles it. */
export async function bundleFiles(root: string, entry: string): Promise<string[]> {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes('node_modules') && f.endsWith('.ts'))
    .sort();
}

function sdkCommandOf(checker: ts.TypeChecker, expression: ts.Expression): SdkCall | null {
  let symbol = checker.getSymbolAtLocation(expression);
  if (!symbol) return null;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const name = symbol.getName();
  if (!name.endsWith('Command')) return null;
  for (const decl of symbol.declarations ?? []) {
    const match = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(decl.getSourceFile().fileName);
    if (match) return { client: match[1] as string, command: name };
  }
  return null;
}

/** A program over the bundle's files, with an index of who implements which interface. */
export class CallGraph {
  readonly program: ts.Program;
  readonly checker: ts.TypeChecker;
  /** Files that reach the program, types included (esbuild drops `import type` files from a bundle). */
  private readonly files: Set<string>;
  /** Interface declaration → classes and object literals implementing it (contextually typed). */
  private readonly implementations = new Map<ts.Declaration, ts.Node[]>();
  /** Object literals implementing an interface: building one calls none of its members. */
  private readonly implementingLiterals = new Set<ts.Node>();

  constructor(
    readonly root: string,
    files: readonly string[],
  ) {
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    this.program = ts.createProgram(
      files.map((f) => join(root, f)),
      { ...parsed.options, noEmit: true },
    );
    this.checker = this.program.getTypeChecker();
    this.files = new Set(
      this.program
        .getSourceFiles()
        .filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'))
        .map((f) => f.fileName),
    );
    for (const file of this.projectFiles()) this.indexImplementations(file);
  }

  private projectFiles(): ts.SourceFile[] {
    return this.program.getSourceFiles().filter((f) => this.files.has(f.fileName));
  }

  private isProject(node: ts.Node): boolean {
    return this.files.has(node.getSourceFile().fileName);
  }

  /** The interface declarations `type` names, with their bases. */
  private interfacesOf(type: ts.Type, out = new Set<ts.Declaration>()): Set<ts.Declaration> {
    for (const decl of type.getSymbol()?.declarations ?? []) {
      if (ts.isInterfaceDeclaration(decl) && !out.has(decl)) {
        out.add(decl);
        for (const base of type.getBaseTypes?.() ?? []) this.interfacesOf(base, out);
      }
    }
    return out;
  }

  private addImplementation(iface: ts.Declaration, impl: ts.Node): void {
    this.implementations.set(iface, [...(this.implementations.get(iface) ?? []), impl]);
  }

  private indexImplementations(file: ts.SourceFile): void {
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node)) {
        for (const clause of node.heritageClauses ?? []) {
          for (const type of clause.types) {
            for (const iface of this.interfacesOf(this.checker.getTypeAtLocation(type)))
              this.addImplementation(iface, node);
          }
        }
      }
      if (ts.isObjectLiteralExpression(node)) {
        const contextual = this.checker.getContextualType(node);
        if (contextual) {
          for (const iface of this.interfacesOf(contextual)) {
            this.addImplementation(iface, node);
            this.implementingLiterals.add(node);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  /** What implements member `name` of interface `iface` in the bundle. */
  private implementationsOf(iface: ts.Declaration, name: string, bundle: ReadonlySet<string>): ts.Node[] {
    const out: ts.Node[] = [];
    for (const impl of this.implementations.get(iface) ?? []) {
      if (!bundle.has(relative(this.root, impl.getSourceFile().fileName))) continue;
      const members = ts.isClassDeclaration(impl)
        ? impl.members
        : (impl as ts.ObjectLiteralExpression).properties;
      for (const member of members) {
        if (member.name && ts.isIdentifier(member.name) && member.name.text === name) out.push(member);
      }
    }
    return out;
  }

  /** Declarations an identifier leads to that hold code to walk. */
  private targetsOf(id: ts.Identifier, bundle: ReadonlySet<string>): ts.Node[] {
    let symbol = this.checker.getSymbolAtLocation(id);
    if (!symbol) return [];
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    if (ts.isShorthandPropertyAssignment(id.parent) && id.parent.name === id) {
      const value = this.checker.getShorthandAssignmentValueSymbol(id.parent);
      if (value) symbol = value.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(value) : value;
    }
    const out: ts.Node[] = [];
    for (const decl of symbol.declarations ?? []) {
      if (!this.isProject(decl)) continue;
      if (
        (ts.isMethodSignature(decl) || ts.isPropertySignature(decl)) &&
        ts.isInterfaceDeclaration(decl.parent)
      ) {
        out.push(...this.implementationsOf(decl.parent, id.text, bundle));
      } else if (
        ts.isFunctionDeclaration(decl) ||
        ts.isMethodDeclaration(decl) ||
        ts.isGetAccessorDeclaration(decl)
      ) {
        out.push(decl);
      } else if (
        (ts.isPropertyDeclaration(decl) || ts.isPropertyAssignment(decl) || ts.isVariableDeclaration(decl)) &&
        decl.initializer &&
        this.checker.getTypeAtLocation(decl.initializer).getCallSignatures().length > 0
      ) {
        // Reading a value runs no code; a function value (or a factory's result) runs when called.
        out.push(decl.initializer);
      } else if (ts.isClassDeclaration(decl)) {
        // `new X(...)` runs the constructor and the property initializers; methods are reached by name.
        for (const member of decl.members)
          if (ts.isConstructorDeclaration(member) || ts.isPropertyDeclaration(member)) out.push(member);
      }
    }
    return out;
  }

  /**
   * Every SDK command reachable from `roots`, never entering `barriers`; a port's implementations
   * count only when their file is in `bundle` (project-relative paths).
   */
  commandsFrom(
    roots: readonly ts.Node[],
    bundle: ReadonlySet<string>,
    barriers: ReadonlySet<ts.Node> = new Set(),
  ): SdkCall[] {
    const seen = new Set<ts.Node>();
    const found = new Map<string, SdkCall>();
    const queue = [...roots];
    const from = new Map<ts.Node, ts.Node>();
    let current: ts.Node | undefined;
    const walk = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) || ts.isTypeNode(node) || ts.isInterfaceDeclaration(node)) return;
      // Its members run when they are used (reached by name), not when the object is built.
      if (this.implementingLiterals.has(node)) return;
      if (ts.isNewExpression(node)) {
        const call = sdkCommandOf(this.checker, node.expression);
        if (call) {
          found.set(key(call), call);
          if (this.trace) this.trace(key(call), this.pathTo(current, from));
        }
      }
      if (ts.isIdentifier(node)) {
        for (const target of this.targetsOf(node, bundle)) {
          if (barriers.has(target)) continue;
          if (!from.has(target) && current) from.set(target, current);
          queue.push(target);
        }
      }
      ts.forEachChild(node, walk);
    };
    while (queue.length > 0) {
      const node = queue.pop() as ts.Node;
      if (seen.has(node) || barriers.has(node)) continue;
      seen.add(node);
      current = node;
      walk(node);
    }
    return [...found.values()].sort((a, b) => key(a).localeCompare(key(b)));
  }

  /** Set to see how the walk reached each command (a debugging aid). */
  trace?: (command: string, path: string[]) => void;

  private pathTo(node: ts.Node | undefined, from: Map<ts.Node, ts.Node>): string[] {
    const out: string[] = [];
    for (let n = node; n && out.length < 30; n = from.get(n)) {
      const name = (n as { name?: ts.Node }).name;
      out.push(
        `${relative(this.root, n.getSourceFile().fileName)}:${name ? name.getText() : n.getText().slice(0, 40)}`,
      );
    }
    return out;
  }

  sourceFile(path: string): ts.SourceFile {
    const file = this.program.getSourceFile(join(this.root, path));
    if (!file) throw new Error(`${path} is not in the bundle`);
    return file;
  }

  /** Every `new XxxCommand(` site in the bundle's project files, by file. */
  commandSites(bundle: ReadonlySet<string>): Map<string, SdkCall[]> {
    const out = new Map<string, SdkCall[]>();
    for (const file of this.projectFiles()) {
      if (!bundle.has(relative(this.root, file.fileName))) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isNewExpression(node)) {
          const call = sdkCommandOf(this.checker, node.expression);
          if (call) {
            const path = relative(this.root, file.fileName);
            out.set(path, [...(out.get(path) ?? []), call]);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    return out;
  }

  /** The object literal a top-level `const name = { … }` holds in the bundle; throws unless exactly one. */
  objectNamed(name: string): ts.ObjectLiteralExpression {
    const found: ts.ObjectLiteralExpression[] = [];
    for (const file of this.projectFiles())
      for (const statement of file.statements)
        if (ts.isVariableStatement(statement))
          for (const decl of statement.declarationList.declarations)
            if (
              ts.isIdentifier(decl.name) &&
              decl.name.text === name &&
              decl.initializer &&
              ts.isObjectLiteralExpression(decl.initializer)
            )
              found.push(decl.initializer);
    if (found.length !== 1)
      throw new Error(`expected one object ${name} in the bundle, found ${found.length}`);
    return found[0] as ts.ObjectLiteralExpression;
  }

  /** Steps the bundle's code runs by name: the string literals of `runStep('<step>', ...)` calls. */
  literalRunSteps(bundle: ReadonlySet<string>): string[] {
    const steps = new Set<string>();
    for (const file of this.projectFiles()) {
      if (!bundle.has(relative(this.root, file.fileName))) continue;
      const visit = (node: ts.Node): void => {
        if (
          ts.isCallExpression(node) &&
          ts.isIdentifier(node.expression) &&
          node.expression.text === 'runStep' &&
          node.arguments[0] &&
          ts.isStringLiteral(node.arguments[0])
        )
          steps.add(node.arguments[0].text);
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    return [...steps];
  }

  /** The function declaration named `name` in the bundle; throws when it is not exactly one. */
  functionNamed(name: string): ts.FunctionDeclaration {
    const found: ts.FunctionDeclaration[] = [];
    for (const file of this.projectFiles()) {
      for (const statement of file.statements)
        if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) found.push(statement);
    }
    if (found.length !== 1)
      throw new Error(`expected one function ${name} in the bundle, found ${found.length}`);
    return found[0] as ts.FunctionDeclaration;
  }
}

/** The group a drill entry serves: the first argument of its `drillStepRunner(...)` call, or null. */
export function drillGroupOf(file: ts.SourceFile): string | null {
  let group: string | null = null;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'drillStepRunner' &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      group = node.arguments[0].text;
    ts.forEachChild(node, visit);
  };
  visit(file);
  return group;
}

/** Each drill function group's handler table (`functions/drill/steps/<group>-steps.ts`). */
const GROUP_TABLES = {
  control: 'CONTROL_STEPS',
  checks: 'CHECKS_STEPS',
  reporting: 'REPORTING_STEPS',
} as const;

/**
 * The SDK calls of the function built from `entry`. For a drill function, the code of the steps of
 * its group only: the entries of its group's handler table for those steps (a drill entry passes
 * its table to `drillStepRunner`; a function that calls `runStep('cleanup', …)` gets that step's
 * entry). Reading a table runs no code, so the other steps' handlers are never reached through
 * it, and `runStep` (whose table holds every step) is not followed.
 */
export function callsOfEntry(graph: CallGraph, entry: string, bundle: readonly string[]): SdkCall[] {
  const files = new Set(bundle);
  const file = graph.sourceFile(entry);
  const topLevel = file.statements.filter((s) => !ts.isImportDeclaration(s));
  const group = drillGroupOf(file);
  const literal = group === null ? graph.literalRunSteps(files) : [];
  if (group === null && literal.length === 0) return graph.commandsFrom(topLevel, files);
  const runStep = graph.functionNamed('runStep');
  const steps = group === null ? literal : stepsOf(group as Parameters<typeof stepsOf>[0]);
  const roots: ts.Node[] = [...topLevel];
  const handled = new Set<string>();
  for (const [tableGroup, table] of Object.entries(GROUP_TABLES)) {
    for (const entryOfTable of graph.objectNamed(table).properties) {
      const name = entryOfTable.name && ts.isIdentifier(entryOfTable.name) ? entryOfTable.name.text : null;
      if (name === null || !steps.includes(name)) continue;
      if (group !== null && tableGroup !== group)
        throw new Error(`${table} holds ${name}, a step of the ${group} function`);
      handled.add(name);
      roots.push(entryOfTable);
    }
  }
  const missing = steps.filter((s) => !handled.has(s));
  if (missing.length > 0)
    throw new Error(`no handler table holds the ${group ?? 'literal'} steps ${missing.join(', ')}`);
  return graph.commandsFrom(roots, files, new Set([runStep]));
}
