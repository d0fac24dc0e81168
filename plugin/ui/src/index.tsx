// stashtag inside Stash: three pages under /plugins/stashtag, a nav entry, a "Similar" tab.
import React from "react";
import { NavLink } from "react-router-dom";
import { Nav, Tab } from "react-bootstrap";
import { DuplicatesPage } from "./DuplicatesPage";
import { ReviewPage } from "./ReviewPage";
import { SearchPage } from "./SearchPage";
import { SimilarPanel, TAB_KEY } from "./SimilarTab";
import { ROUTE, patchAfter, patchBefore, registerRoute } from "./pluginApi";
import "./stashtag.css";

// Stash renders plugin routes side by side (not in a Switch): one path per page, none a prefix
registerRoute(`${ROUTE}/search`, SearchPage);
registerRoute(`${ROUTE}/review`, ReviewPage);
registerRoute(`${ROUTE}/duplicates`, DuplicatesPage);

// an after-function gets the render function's arguments (React passes props and a legacy
// context), then the result: the result is the last argument
patchAfter("MainNavBar.UtilityItems", (...args: unknown[]) => (
  <>
    <NavLink to={`${ROUTE}/search`} className="nav-link stashtag-nav" title="stashtag: search, review, duplicates">
      stashtag
    </NavLink>
    {args[args.length - 1] as React.ReactNode}
  </>
));

type SceneProps = { scene: { id: string }; children?: React.ReactNode };

patchBefore("ScenePage.Tabs", (props: SceneProps) => [
  {
    ...props,
    children: (
      <>
        {props.children}
        <Nav.Item>
          <Nav.Link eventKey={TAB_KEY}>Similar</Nav.Link>
        </Nav.Item>
      </>
    ),
  },
]);

patchBefore("ScenePage.TabContent", (props: SceneProps) => [
  {
    ...props,
    children: (
      <>
        {props.children}
        {/* mountOnEnter: the plugin runs only when the tab is opened, not on every scene page */}
        <Tab.Pane eventKey={TAB_KEY} mountOnEnter>
          <SimilarPanel sceneId={props.scene.id} />
        </Tab.Pane>
      </>
    ),
  },
]);
