// A stand-in for Stash's web UI (ui/v2.5 @cf3489e, v0.30.x) for browser tests: the libraries
// at Stash's versions, window.PluginApi with Stash's shape and patch semantics, and the parts of
// the app a plugin touches — the nav bar's patchable items, plugin routes, a scene page with
// patchable tabs, toasts, and plugin loading from the `plugins` query as PluginsLoader does.
import React from "react";
import ReactDOM from "react-dom";
import * as ReactRouterDOM from "react-router-dom";
import * as Bootstrap from "react-bootstrap";
import * as Apollo from "@apollo/client";
import {
  PatchComponent,
  PatchContainerComponent,
  PatchFunction,
  RegisterComponent,
  after,
  before,
  components,
  instead,
} from "./patch";

const { BrowserRouter, Link, Route, Switch, useLocation, useParams } = ReactRouterDOM;
const { Nav, Navbar, Tab, Toast } = Bootstrap;

const client = new Apollo.ApolloClient({
  link: new Apollo.HttpLink({ uri: "/graphql", credentials: "same-origin" }),
  cache: new Apollo.InMemoryCache(),
});

// --- toasts (src/hooks/Toast.tsx: success(message), error(error)) -----------------------------
type Note = { id: number; variant: "success" | "danger"; text: string };
const ToastContext = React.createContext<(n: Omit<Note, "id">) => void>(() => undefined);
let noteId = 0;

function useToast() {
  const add = React.useContext(ToastContext);
  return React.useMemo(
    () => ({
      success: (text: string) => add({ variant: "success", text }),
      error: (error: unknown) => {
        const e = error as { message?: string };
        console.error(error); // Stash logs it too
        add({ variant: "danger", text: e.message ?? String(error) });
      },
    }),
    [add],
  );
}

const ToastProvider: React.FC<{ children: React.ReactNode }> = ({ children }) => {
  const [notes, setNotes] = React.useState<Note[]>([]);
  const add = React.useCallback((n: Omit<Note, "id">) => {
    const note = { ...n, id: ++noteId };
    setNotes((all) => [...all, note]);
    setTimeout(() => setNotes((all) => all.filter((x) => x.id !== note.id)), 8000);
  }, []);
  return (
    <ToastContext.Provider value={add}>
      {children}
      <div className="toast-container">
        {notes.map((n) => (
          <Toast key={n.id} className={`bg-${n.variant} harness-toast`} data-variant={n.variant}>
            <Toast.Body>{n.text}</Toast.Body>
          </Toast>
        ))}
      </div>
    </ToastContext.Provider>
  );
};

// --- PluginApi (src/pluginApi.tsx) -------------------------------------------------------------
function registerRoute(path: string, component: React.FC) {
  before("PluginRoutes", (props: React.PropsWithChildren<{}>) => [
    {
      children: (
        <>
          {props.children}
          <Route path={path} component={component} />
        </>
      ),
    },
  ]);
}

// --- Stash's pickers (TagSelect, StudioSelect: src/components/Shared/FilterSelect.tsx props
// values / onSelect(items) / isClearable / noSelectionString), registered only when the chunk
// holding them loads — PluginApi.loadableComponents.Tags, as seen in Stash v0.30.1 — and
// loaded with hooks.useLoadComponents (src/pluginApi.tsx: true until every loader resolved).
type Named = { id: string; name: string };
const PICKER_QUERIES = {
  tag: Apollo.gql`query PickTags($f: TagFilterType) {
    findTags(tag_filter: $f, filter: { per_page: 20 }) { items: tags { id name } } }`,
  studio: Apollo.gql`query PickStudios($f: StudioFilterType) {
    findStudios(studio_filter: $f, filter: { per_page: 20 }) { items: studios { id name } } }`,
};

function makePicker(kind: "tag" | "studio"): React.FC<any> {
  return function Picker(props) {
    const [text, setText] = React.useState("");
    const [options, setOptions] = React.useState<Named[]>([]);
    const chosen: Named | undefined = props.values?.[0];
    React.useEffect(() => {
      if (!text) return setOptions([]);
      let live = true;
      const f = { name: { value: `%${text}%`, modifier: "EQUALS" } };
      client
        .query({ query: PICKER_QUERIES[kind], variables: { f }, fetchPolicy: "no-cache" })
        .then((r: any) => live && setOptions((Object.values(r.data)[0] as any).items));
      return () => {
        live = false;
      };
    }, [text]);
    const pick = (items: Named[]) => {
      setText("");
      props.onSelect?.(items);
    };
    return (
      <div className={`react-select ${kind}-select`}>
        {chosen ? <span className="react-select__single-value">{chosen.name}</span> : null}
        <input
          className="react-select__input"
          placeholder={chosen ? "" : props.noSelectionString}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        {chosen && props.isClearable ? (
          <button type="button" className="react-select__clear" onClick={() => pick([])}>
            ×
          </button>
        ) : null}
        {options.map((o) => (
          <div key={o.id} className="react-select__option" onClick={() => pick([o])}>
            {o.name}
          </div>
        ))}
      </div>
    );
  };
}

const loadableComponents = {
  Tags: async () => {
    if (!components.TagSelect) {
      RegisterComponent("TagSelect", makePicker("tag"));
      RegisterComponent("StudioSelect", makePicker("studio"));
    }
  },
};

function useLoadComponents(toLoad: (() => Promise<unknown>)[]) {
  const [loading, setLoading] = React.useState(true);
  const [componentList] = React.useState(toLoad);
  React.useEffect(() => {
    setLoading(true);
    Promise.all(componentList.map((fn) => fn())).then(() => setLoading(false));
  }, [componentList]);
  return loading;
}

(window as any).PluginApi = {
  React,
  ReactDOM,
  GQL: {},
  libraries: { ReactRouterDOM, Bootstrap, Apollo },
  register: { route: registerRoute, component: RegisterComponent },
  components,
  loadableComponents,
  utils: { StashService: { getClient: () => client }, NavUtils: {} },
  hooks: { useToast, useLoadComponents },
  patch: { before, instead, after },
  Event: new EventTarget(),
};

// --- the app -----------------------------------------------------------------------------------
const MenuItems = PatchComponent("MainNavBar.MenuItems", (props: React.PropsWithChildren<{}>) => (
  <Nav>{props.children}</Nav>
));
const UtilityItems = PatchComponent(
  "MainNavBar.UtilityItems",
  (props: React.PropsWithChildren<{}>) => <>{props.children}</>,
);
const PluginRoutes = PatchFunction("PluginRoutes", (props: React.PropsWithChildren<{}>) => (
  <>{props.children}</>
)) as React.FC;

interface SceneProps {
  scene: { id: string; title: string };
  setTimestamp: (t: number) => void;
}
const ScenePageTabs = PatchContainerComponent<SceneProps>("ScenePage.Tabs");
const ScenePageTabContent = PatchContainerComponent<SceneProps>("ScenePage.TabContent");

const FIND_SCENE = Apollo.gql`
  query FindScene($id: ID!) { findScene(id: $id) { id title } }
`;

const ScenePage: React.FC = () => {
  const { id } = useParams<{ id: string }>();
  const t = new URLSearchParams(useLocation().search).get("t");
  const { data, loading } = Apollo.useQuery(FIND_SCENE, { variables: { id } });
  const [timestamp, setTimestamp] = React.useState<number | null>(t ? Number(t) : null);
  if (loading) return <div>Loading scene…</div>;
  const scene = data?.findScene;
  if (!scene) return <div>Scene not found</div>;
  const props: SceneProps = { scene, setTimestamp };
  return (
    <div className="scene-page" data-scene={scene.id}>
      <h3 className="scene-title">{scene.title}</h3>
      <div className="scene-player" data-timestamp={timestamp ?? ""}>
        player at {timestamp ?? 0} s
      </div>
      <Tab.Container defaultActiveKey="scene-details-panel" unmountOnExit={false}>
        <Nav variant="tabs">
          <ScenePageTabs {...props}>
            <Nav.Item>
              <Nav.Link eventKey="scene-details-panel">Details</Nav.Link>
            </Nav.Item>
          </ScenePageTabs>
        </Nav>
        <Tab.Content>
          <ScenePageTabContent {...props}>
            <Tab.Pane eventKey="scene-details-panel">Scene details</Tab.Pane>
          </ScenePageTabContent>
        </Tab.Content>
      </Tab.Container>
    </div>
  );
};

const App: React.FC = () => (
  <BrowserRouter>
    <Navbar bg="dark" variant="dark" className="main-navbar">
      <Navbar.Brand as={Link} to="/">
        Stash
      </Navbar.Brand>
      <MenuItems>
        <Link className="nav-link" to="/scenes">
          Scenes
        </Link>
      </MenuItems>
      <Nav className="ml-auto">
        <UtilityItems />
      </Nav>
    </Navbar>
    <div className="main container-fluid">
      <Switch>
        <Route path="/scenes/:id" component={ScenePage} />
        <Route exact path="/" render={() => <div className="front-page">Front page</div>} />
        <PluginRoutes />
      </Switch>
    </div>
  </BrowserRouter>
);

// --- plugin loading (src/plugins.tsx): the plugins query, then each script in order ------------
const PLUGINS = `query Plugins { plugins { id enabled requires paths { javascript css } } }`;

async function loadPlugins(): Promise<void> {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: PLUGINS }),
  });
  const plugins = (await response.json()).data.plugins ?? [];
  for (const p of plugins.filter((p: any) => p.enabled)) {
    for (const href of p.paths.css ?? []) {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.appendChild(link);
    }
    for (const src of p.paths.javascript ?? []) {
      await new Promise<void>((resolve) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = () => resolve();
        script.onerror = () => resolve(); // Stash renders the app even when a plugin fails
        document.head.appendChild(script);
      });
    }
  }
}

loadPlugins().then(() =>
  ReactDOM.render(
    <Apollo.ApolloProvider client={client}>
      <ToastProvider>
        <App />
      </ToastProvider>
    </Apollo.ApolloProvider>,
    document.getElementById("root"),
  ),
);
