// Every test starts with fresh doubles: the audit and governance doubles keep their state in their workers'
// module scope, shared by every file (files run one at a time).
import { beforeEach } from "vitest";
import { audit, governance } from "./worker-helpers";

beforeEach(async () => {
  await audit()._reset();
  await governance()._reset();
});
