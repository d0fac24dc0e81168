"use strict";
(() => {
  var __create = Object.create;
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getProtoOf = Object.getPrototypeOf;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __commonJS = (cb, mod) => function __require() {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
    // If the importer is in node compatibility mode or this is not an ESM
    // file that has been converted to a CommonJS file using a Babel-
    // compatible transform (i.e. "__esModule" has not been set), then set
    // "default" to the CommonJS "module.exports" for node compatibility.
    isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
    mod
  ));

  // plugin-api:react
  var require_react = __commonJS({
    "plugin-api:react"(exports, module) {
      module.exports = window.PluginApi.React;
    }
  });

  // plugin-api:react-router-dom
  var require_react_router_dom = __commonJS({
    "plugin-api:react-router-dom"(exports, module) {
      module.exports = window.PluginApi.libraries.ReactRouterDOM;
    }
  });

  // plugin-api:react-bootstrap
  var require_react_bootstrap = __commonJS({
    "plugin-api:react-bootstrap"(exports, module) {
      module.exports = window.PluginApi.libraries.Bootstrap;
    }
  });

  // plugin-api:@apollo/client
  var require_client = __commonJS({
    "plugin-api:@apollo/client"(exports, module) {
      module.exports = window.PluginApi.libraries.Apollo;
    }
  });

  // src/index.tsx
  var import_react6 = __toESM(require_react());
  var import_react_router_dom3 = __toESM(require_react_router_dom());
  var import_react_bootstrap6 = __toESM(require_react_bootstrap());

  // src/DuplicatesPage.tsx
  var import_react2 = __toESM(require_react());
  var import_react_bootstrap2 = __toESM(require_react_bootstrap());

  // src/pluginApi.ts
  var import_client = __toESM(require_client());
  var api = window.PluginApi;
  var PLUGIN_ID = "stashtag";
  var ROUTE = "/plugins/stashtag";
  var registerRoute = api.register.route;
  var patchBefore = api.patch.before;
  var patchAfter = api.patch.after;
  var useToast = () => api.hooks.useToast();
  var stashComponent = (name) => {
    var _a;
    return (_a = api.components) == null ? void 0 : _a[name];
  };
  function useStashPickers() {
    var _a;
    const load = api.hooks.useLoadComponents;
    const tags = (_a = api.loadableComponents) == null ? void 0 : _a.Tags;
    return load && tags ? load([tags]) : false;
  }
  var RUN = import_client.gql`
  mutation StashtagOperation($plugin_id: ID!, $args: Map) {
    runPluginOperation(plugin_id: $plugin_id, args: $args)
  }
`;
  async function runOperation(op, args = {}) {
    const result = await api.utils.StashService.getClient().mutate({
      mutation: RUN,
      variables: { plugin_id: PLUGIN_ID, args: { op, ...args } }
    });
    return result.data.runPluginOperation;
  }
  function errorText(error) {
    var _a, _b, _c, _d;
    const e = error;
    return (_d = (_c = (_b = (_a = e.graphQLErrors) == null ? void 0 : _a[0]) == null ? void 0 : _b.message) != null ? _c : e.message) != null ? _d : String(error);
  }

  // src/api.ts
  var search = (text, filter = {}, limit = 24) => runOperation("search", { text, limit, ...filter });
  var similar = (sceneId, limit = 12) => runOperation("similar", { scene_id: sceneId, limit });
  var duplicates = () => runOperation("duplicates");
  var markDuplicates = (sceneIds) => runOperation("mark_duplicates", { scene_ids: sceneIds });
  var review = () => runOperation("review");
  var decide = (sceneId, accept, reject) => runOperation("decide", {
    scene_id: sceneId,
    accept,
    reject
  });

  // src/components.tsx
  var import_react = __toESM(require_react());
  var import_react_router_dom = __toESM(require_react_router_dom());
  var import_react_bootstrap = __toESM(require_react_bootstrap());
  function clock(seconds) {
    if (seconds == null) return "";
    const s = Math.round(seconds);
    const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
    const parts = hms[0] ? hms : hms.slice(1);
    return parts.map((v, i) => i ? String(v).padStart(2, "0") : String(v)).join(":");
  }
  function megabytes(bytes) {
    return bytes == null ? "" : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
  }
  function sceneLink(id, time) {
    return time == null ? `/scenes/${id}` : `/scenes/${id}?t=${Math.floor(time)}`;
  }
  var SceneCard = ({
    scene,
    time,
    children
  }) => /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Card, { className: "stashtag-card", "data-scene": scene.id }, /* @__PURE__ */ import_react.default.createElement(import_react_router_dom.Link, { to: sceneLink(scene.id, time), className: "stashtag-thumb" }, scene.screenshot ? /* @__PURE__ */ import_react.default.createElement("img", { src: scene.screenshot, alt: "", loading: "lazy" }) : null, time != null ? /* @__PURE__ */ import_react.default.createElement("span", { className: "stashtag-at" }, clock(time)) : null), /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Card.Body, null, /* @__PURE__ */ import_react.default.createElement(import_react_router_dom.Link, { to: sceneLink(scene.id, time), className: "stashtag-title" }, scene.title || `Scene ${scene.id}`), /* @__PURE__ */ import_react.default.createElement("div", { className: "stashtag-meta" }, [scene.studio, clock(scene.duration), scene.height ? `${scene.height}p` : ""].filter(Boolean).join(" · ")), children));
  var Loading = ({ what }) => /* @__PURE__ */ import_react.default.createElement("div", { className: "stashtag-loading", role: "status" }, /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Spinner, { animation: "border", size: "sm" }), " ", what);
  var Failure = ({ error }) => /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Alert, { variant: "danger", className: "stashtag-error" }, errorText(error));
  var Empty = ({ children }) => /* @__PURE__ */ import_react.default.createElement("div", { className: "stashtag-empty" }, children);
  var Views = () => /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Nav, { variant: "tabs", className: "stashtag-views" }, [
    ["search", "Search"],
    ["review", "Review"],
    ["duplicates", "Duplicates"]
  ].map(([path, label]) => /* @__PURE__ */ import_react.default.createElement(import_react_bootstrap.Nav.Item, { key: path }, /* @__PURE__ */ import_react.default.createElement(import_react_router_dom.NavLink, { to: `${ROUTE}/${path}`, className: "nav-link", activeClassName: "active" }, label))));
  function useOperation(load, key) {
    const [state, setState] = import_react.default.useState({
      loading: true
    });
    const reload = import_react.default.useCallback(() => {
      let live = true;
      setState((s) => ({ ...s, loading: true, error: void 0 }));
      load().then(
        (data) => live && setState({ data, loading: false }),
        (error) => live && setState({ error, loading: false })
      );
      return () => {
        live = false;
      };
    }, key);
    import_react.default.useEffect(reload, [reload]);
    return { ...state, reload };
  }
  function useAction(onDone) {
    const toast = useToast();
    const [busy, setBusy] = import_react.default.useState(false);
    const act = async (run) => {
      setBusy(true);
      try {
        toast.success(await run());
        onDone();
      } catch (e) {
        toast.error(e);
      } finally {
        setBusy(false);
      }
    };
    return { busy, act };
  }
  function ListPage(props) {
    const { data, error, loading, reload } = useOperation(props.load, []);
    const empty = data !== void 0 && props.empty(data);
    return /* @__PURE__ */ import_react.default.createElement("div", { className: "stashtag-page" }, /* @__PURE__ */ import_react.default.createElement(Views, null), loading && data === void 0 ? /* @__PURE__ */ import_react.default.createElement(Loading, { what: props.loading }) : null, error ? /* @__PURE__ */ import_react.default.createElement(Failure, { error }) : null, empty ? /* @__PURE__ */ import_react.default.createElement(Empty, null, empty) : null, data !== void 0 ? props.children(data, reload) : null);
  }

  // src/DuplicatesPage.tsx
  function keeper(group) {
    const best = [...group.scenes].sort(
      (a, b) => {
        var _a, _b, _c, _d;
        return ((_a = b.height) != null ? _a : 0) - ((_b = a.height) != null ? _b : 0) || ((_c = b.size) != null ? _c : 0) - ((_d = a.size) != null ? _d : 0);
      }
    );
    return best[0].id;
  }
  var Group = ({ group, onDone }) => {
    const keep = keeper(group);
    const [chosen, setChosen] = import_react2.default.useState(
      () => new Set(group.scenes.filter((s) => s.id !== keep && !s.marked).map((s) => s.id))
    );
    const { busy, act } = useAction(onDone);
    const toggle = (id) => setChosen((c) => {
      const next = new Set(c);
      next.has(id) ? next.delete(id) : next.add(id);
      return next;
    });
    const mark = () => act(async () => {
      const out = await markDuplicates([...chosen]);
      return `${out.marked.length} scene(s) tagged ${out.tag}`;
    });
    return /* @__PURE__ */ import_react2.default.createElement("div", { className: "stashtag-group" }, /* @__PURE__ */ import_react2.default.createElement("div", { className: "stashtag-grid" }, group.scenes.map((s) => /* @__PURE__ */ import_react2.default.createElement(SceneCard, { key: s.id, scene: s }, /* @__PURE__ */ import_react2.default.createElement("div", { className: "stashtag-meta" }, [megabytes(s.size), s.width && s.height ? `${s.width}×${s.height}` : ""].filter(Boolean).join(" · ")), s.marked ? /* @__PURE__ */ import_react2.default.createElement("div", { className: "stashtag-marked" }, "tagged AI_Duplicate") : /* @__PURE__ */ import_react2.default.createElement(
      import_react_bootstrap2.Form.Check,
      {
        id: `stashtag-dup-${s.id}`,
        label: s.id === keep ? "keep (best copy)" : "a copy to drop",
        checked: chosen.has(s.id),
        onChange: () => toggle(s.id)
      }
    )))), /* @__PURE__ */ import_react2.default.createElement(import_react_bootstrap2.Button, { size: "sm", variant: "warning", disabled: busy || !chosen.size, onClick: mark }, "Tag ", chosen.size, " selected AI_Duplicate"));
  };
  var groupKey = (g) => g.scenes.map((s) => s.id + (s.marked ? "m" : "")).join("-");
  var DuplicatesPage = () => /* @__PURE__ */ import_react2.default.createElement(
    ListPage,
    {
      load: duplicates,
      loading: "Comparing scenes…",
      empty: (data) => !data.groups.length && "No duplicates among the tagged scenes."
    },
    (data, reload) => data.groups.map((g) => /* @__PURE__ */ import_react2.default.createElement(Group, { key: groupKey(g), group: g, onDone: reload }))
  );

  // src/ReviewPage.tsx
  var import_react3 = __toESM(require_react());
  var import_react_bootstrap3 = __toESM(require_react_bootstrap());
  var Suggestions = ({ scene, onDone }) => {
    const { busy, act } = useAction(onDone);
    const settle = (accept, reject) => act(async () => {
      await decide(scene.id, accept, reject);
      const done = [...accept.map((t) => `+${t}`), ...reject.map((t) => `−${t}`)];
      return `Scene ${scene.title || scene.id}: ${done.join(", ")}`;
    });
    return /* @__PURE__ */ import_react3.default.createElement("div", { className: "stashtag-suggestions" }, scene.suggestions.map((tag) => /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.ButtonGroup, { key: tag, size: "sm", className: "stashtag-suggestion", "aria-label": tag }, /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.Button, { variant: "secondary", disabled: true }, tag), /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.Button, { variant: "success", disabled: busy, title: `Accept ${tag}`, onClick: () => settle([tag], []) }, "✓"), /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.Button, { variant: "danger", disabled: busy, title: `Reject ${tag}`, onClick: () => settle([], [tag]) }, "✗"))), /* @__PURE__ */ import_react3.default.createElement("div", { className: "stashtag-all" }, /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.Button, { size: "sm", variant: "outline-success", disabled: busy, onClick: () => settle(scene.suggestions, []) }, "Accept all"), " ", /* @__PURE__ */ import_react3.default.createElement(import_react_bootstrap3.Button, { size: "sm", variant: "outline-danger", disabled: busy, onClick: () => settle([], scene.suggestions) }, "Reject all")));
  };
  var ReviewPage = () => /* @__PURE__ */ import_react3.default.createElement(
    ListPage,
    {
      load: review,
      loading: "Loading suggestions…",
      empty: (data) => !data.scenes.length && "No suggestions wait for review."
    },
    (data, reload) => /* @__PURE__ */ import_react3.default.createElement("div", { className: "stashtag-grid" }, data.scenes.map((scene) => /* @__PURE__ */ import_react3.default.createElement(SceneCard, { key: scene.id, scene }, /* @__PURE__ */ import_react3.default.createElement(Suggestions, { scene, onDone: reload }))))
  );

  // src/SearchPage.tsx
  var import_react4 = __toESM(require_react());
  var import_react_router_dom2 = __toESM(require_react_router_dom());
  var import_react_bootstrap4 = __toESM(require_react_bootstrap());
  var FILTERS = [
    ["tag", "Only scenes with this tag", "with tag (optional)", "TagSelect"],
    ["studio", "Only scenes of this studio", "of studio (optional)", "StudioSelect"]
  ];
  var Filter = ({ spec: [key, label, placeholder, picker], value, onChange }) => {
    const Picker = stashComponent(picker);
    if (Picker) {
      return /* @__PURE__ */ import_react4.default.createElement("div", { className: `stashtag-filter stashtag-filter-${key}`, title: label }, /* @__PURE__ */ import_react4.default.createElement(
        Picker,
        {
          isMulti: false,
          isClearable: true,
          creatable: false,
          noSelectionString: placeholder,
          values: value ? [{ id: value, name: value }] : [],
          onSelect: (items) => {
            var _a, _b;
            return onChange((_b = (_a = items[0]) == null ? void 0 : _a.name) != null ? _b : "");
          }
        }
      ));
    }
    return /* @__PURE__ */ import_react4.default.createElement(
      import_react_bootstrap4.Form.Control,
      {
        size: "sm",
        "aria-label": label,
        placeholder,
        value,
        onChange: (e) => onChange(e.target.value)
      }
    );
  };
  var SearchPage = () => {
    var _a, _b, _c, _d;
    const location = (0, import_react_router_dom2.useLocation)();
    const history = (0, import_react_router_dom2.useHistory)();
    const params = new URLSearchParams(location.search);
    const query = (_a = params.get("q")) != null ? _a : "";
    const tag = (_b = params.get("tag")) != null ? _b : "";
    const studio = (_c = params.get("studio")) != null ? _c : "";
    const pickersLoading = useStashPickers();
    const [text, setText] = import_react4.default.useState(query);
    const [filter, setFilter] = import_react4.default.useState({ tag, studio });
    const [state, setState] = import_react4.default.useState({
      loading: false
    });
    import_react4.default.useEffect(() => {
      setText(query);
      setFilter({ tag, studio });
      if (!query) return setState({ loading: false });
      let live = true;
      setState({ loading: true });
      search(query, { tag: tag || void 0, studio: studio || void 0 }).then(
        (out) => live && setState({ hits: out.hits, loading: false }),
        (error) => live && setState({ error, loading: false })
      );
      return () => {
        live = false;
      };
    }, [query, tag, studio]);
    const submit = (e) => {
      e.preventDefault();
      if (!text.trim()) return;
      const next = new URLSearchParams({ q: text.trim() });
      if (filter.tag.trim()) next.set("tag", filter.tag.trim());
      if (filter.studio.trim()) next.set("studio", filter.studio.trim());
      history.push(`${ROUTE}/search?${next.toString()}`);
    };
    return /* @__PURE__ */ import_react4.default.createElement("div", { className: "stashtag-page" }, /* @__PURE__ */ import_react4.default.createElement(Views, null), /* @__PURE__ */ import_react4.default.createElement(import_react_bootstrap4.Form, { onSubmit: submit, className: "stashtag-search" }, /* @__PURE__ */ import_react4.default.createElement(import_react_bootstrap4.InputGroup, null, /* @__PURE__ */ import_react4.default.createElement(
      import_react_bootstrap4.Form.Control,
      {
        autoFocus: true,
        "aria-label": "Search the frames of your scenes",
        placeholder: "Describe what you look for, e.g. a beach at night",
        value: text,
        onChange: (e) => setText(e.target.value)
      }
    ), /* @__PURE__ */ import_react4.default.createElement(import_react_bootstrap4.InputGroup.Append, null, /* @__PURE__ */ import_react4.default.createElement(import_react_bootstrap4.Button, { type: "submit", variant: "primary", disabled: !text.trim() || state.loading }, "Search"))), /* @__PURE__ */ import_react4.default.createElement("div", { className: "stashtag-filters" }, (pickersLoading ? [] : FILTERS).map((spec) => /* @__PURE__ */ import_react4.default.createElement(
      Filter,
      {
        key: spec[0],
        spec,
        value: filter[spec[0]],
        onChange: (name) => setFilter({ ...filter, [spec[0]]: name })
      }
    )))), state.loading ? /* @__PURE__ */ import_react4.default.createElement(Loading, { what: "Searching…" }) : null, state.error ? /* @__PURE__ */ import_react4.default.createElement(Failure, { error: state.error }) : null, state.hits && !state.hits.length ? /* @__PURE__ */ import_react4.default.createElement(Empty, null, "No tagged scene", tag ? ` with tag “${tag}”` : "", studio ? ` of studio “${studio}”` : "", " matches “", query, "”.") : null, /* @__PURE__ */ import_react4.default.createElement("div", { className: "stashtag-grid" }, ((_d = state.hits) != null ? _d : []).map((hit) => /* @__PURE__ */ import_react4.default.createElement(SceneCard, { key: hit.id, scene: hit, time: hit.time }, /* @__PURE__ */ import_react4.default.createElement("div", { className: "stashtag-score", title: "cosine of the best frame with the text" }, "match ", hit.score.toFixed(3))))));
  };

  // src/SimilarTab.tsx
  var import_react5 = __toESM(require_react());
  var import_react_bootstrap5 = __toESM(require_react_bootstrap());
  var TAB_KEY = "stashtag-similar-panel";
  var SimilarPanel = ({ sceneId }) => {
    const { data, error, loading } = useOperation(() => similar(sceneId), [sceneId]);
    if (loading) return /* @__PURE__ */ import_react5.default.createElement(Loading, { what: "Finding similar scenes…" });
    if (error) return /* @__PURE__ */ import_react5.default.createElement(Failure, { error });
    if (!(data == null ? void 0 : data.tagged)) return /* @__PURE__ */ import_react5.default.createElement(Empty, null, "stashtag has not tagged this scene yet.");
    if (!data.neighbours.length) return /* @__PURE__ */ import_react5.default.createElement(Empty, null, "No other tagged scene to compare with.");
    return /* @__PURE__ */ import_react5.default.createElement("div", { className: "stashtag-grid stashtag-similar" }, data.neighbours.map((n) => /* @__PURE__ */ import_react5.default.createElement(SceneCard, { key: n.id, scene: n }, /* @__PURE__ */ import_react5.default.createElement("div", { className: "stashtag-score" }, "similarity ", n.score.toFixed(3)), n.duplicate ? /* @__PURE__ */ import_react5.default.createElement(import_react_bootstrap5.Badge, { variant: "warning", className: "stashtag-duplicate" }, "likely duplicate · ", Math.round(n.duplicate.aligned * 100), "% frames aligned", n.duplicate.offset_s ? ` · offset ${n.duplicate.offset_s.toFixed(1)} s` : "") : null)));
  };

  // src/index.tsx
  registerRoute(`${ROUTE}/search`, SearchPage);
  registerRoute(`${ROUTE}/review`, ReviewPage);
  registerRoute(`${ROUTE}/duplicates`, DuplicatesPage);
  patchAfter("MainNavBar.UtilityItems", (...args) => /* @__PURE__ */ import_react6.default.createElement(import_react6.default.Fragment, null, /* @__PURE__ */ import_react6.default.createElement(import_react_router_dom3.NavLink, { to: `${ROUTE}/search`, className: "nav-link stashtag-nav", title: "stashtag: search, review, duplicates" }, "stashtag"), args[args.length - 1]));
  patchBefore("ScenePage.Tabs", (props) => [
    {
      ...props,
      children: /* @__PURE__ */ import_react6.default.createElement(import_react6.default.Fragment, null, props.children, /* @__PURE__ */ import_react6.default.createElement(import_react_bootstrap6.Nav.Item, null, /* @__PURE__ */ import_react6.default.createElement(import_react_bootstrap6.Nav.Link, { eventKey: TAB_KEY }, "Similar")))
    }
  ]);
  patchBefore("ScenePage.TabContent", (props) => [
    {
      ...props,
      children: /* @__PURE__ */ import_react6.default.createElement(import_react6.default.Fragment, null, props.children, /* @__PURE__ */ import_react6.default.createElement(import_react_bootstrap6.Tab.Pane, { eventKey: TAB_KEY, mountOnEnter: true }, /* @__PURE__ */ import_react6.default.createElement(SimilarPanel, { sceneId: props.scene.id })))
    }
  ]);
})();
