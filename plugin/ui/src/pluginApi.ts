// The one module that talks to Stash's window.PluginApi (ui/v2.5/src/pluginApi.tsx, Stash
// >= 0.28). Libraries (React, router, bootstrap, Apollo) are imported by name everywhere and
// resolved to PluginApi by build.mjs; the rest of PluginApi is reached only through here.
import React from "react";
import { gql } from "@apollo/client";
import type { ApolloClient } from "@apollo/client";

type Patch = (component: string, fn: (...args: any[]) => any) => void;

interface StashPluginApi {
  register: { route: (path: string, component: React.FC<any>) => void };
  patch: { before: Patch; instead: Patch; after: Patch };
  utils: { StashService: { getClient: () => ApolloClient<unknown> } };
  hooks: {
    useToast: () => { success: (m: string) => void; error: (e: unknown) => void };
    useLoadComponents?: (toLoad: (() => Promise<unknown>)[]) => boolean;
  };
  components?: Record<string, React.FC<any> | undefined>;
  loadableComponents?: Record<string, (() => Promise<unknown>) | undefined>;
}

const api = (window as unknown as { PluginApi: StashPluginApi }).PluginApi;

export const PLUGIN_ID = "stashtag";
export const ROUTE = "/plugins/stashtag";

export const registerRoute = api.register.route;
export const patchBefore = api.patch.before;
export const patchAfter = api.patch.after;
export const useToast = () => api.hooks.useToast();

/** One of Stash's own components (``PluginApi.components``: TagSelect, StudioSelect, …), or
 * undefined where the page runs without them. */
export const stashComponent = (name: string) => api.components?.[name];

/** Stash registers a component when the chunk holding it loads: TagSelect and StudioSelect
 * come with its Tags pages (seen in Stash v0.30.1). True while that chunk loads. */
export function useStashPickers(): boolean {
  const load = api.hooks.useLoadComponents; // the same on every render: no conditional hook
  const tags = api.loadableComponents?.Tags;
  return load && tags ? load([tags]) : false;
}

const RUN = gql`
  mutation StashtagOperation($plugin_id: ID!, $args: Map) {
    runPluginOperation(plugin_id: $plugin_id, args: $args)
  }
`;

/** Runs one of the Python plugin's operations (stashtag_client/stash/operations.py). Stash
 * starts the plugin per call; its error comes back as the GraphQL error's message. */
export async function runOperation<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await api.utils.StashService.getClient().mutate({
    mutation: RUN,
    variables: { plugin_id: PLUGIN_ID, args: { op, ...args } },
  });
  return result.data.runPluginOperation as T;
}

/** The message to show for a failed operation (Apollo wraps the plugin's error). */
export function errorText(error: unknown): string {
  const e = error as { graphQLErrors?: { message: string }[]; message?: string };
  return e.graphQLErrors?.[0]?.message ?? e.message ?? String(error);
}
