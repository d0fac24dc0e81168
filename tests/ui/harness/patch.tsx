// Stash's patch semantics (ui/v2.5/src/patch.tsx @cf3489e), rewritten for the stand-in:
// before-functions return the new argument list, instead-functions get the arguments plus
// the next function in the chain (the original last), after-functions get the arguments plus
// the result and return the new result; patched components register in `components`.
import React from "react";

export const components: Record<string, Function> = {};
const beforeFns: Record<string, Function[]> = {};
const insteadFns: Record<string, Function[]> = {};
const afterFns: Record<string, Function[]> = {};

const adder = (table: Record<string, Function[]>) => (name: string, fn: Function) => {
  (table[name] = table[name] || []).push(fn);
};
export const before = adder(beforeFns);
export const instead = adder(insteadFns);
export const after = adder(afterFns);

export function RegisterComponent<T extends Function>(name: string, fn: T): T {
  if (components[name]) throw new Error(`Component ${name} has already been registered`);
  components[name] = fn;
  return fn;
}

function runInstead(fns: Function[], target: Function, self: unknown, args: unknown[]): unknown {
  let i = 1;
  const next = (): Function => {
    if (i >= fns.length) return target;
    const fn = fns[i++];
    return new Proxy(fn, { apply: (t, ctx, a) => t.apply(ctx, a.concat(next())) });
  };
  return fns[0].apply(self, args.concat(next()));
}

export function PatchFunction<T extends Function>(name: string, fn: T): T {
  return new Proxy(fn, {
    apply(target, self, args) {
      for (const b of beforeFns[name] || []) args = b.apply(self, args);
      let result = insteadFns[name]
        ? runInstead(insteadFns[name], target, self, args)
        : target.apply(self, args);
      for (const a of afterFns[name] || []) result = a.apply(self, args.concat(result));
      return result;
    },
  });
}

export function PatchComponent<T>(name: string, fn: React.FC<T>): React.FC<T> {
  return RegisterComponent(name, PatchFunction(name, fn));
}

export function PatchContainerComponent<T = {}>(name: string): React.FC<React.PropsWithChildren<T>> {
  return PatchComponent(name, (props: React.PropsWithChildren<T>) => <>{props.children}</>);
}
