// The district as the console sees it: the tree (names) and live camera states.
import { api } from "./api.js";

export async function loadDistrict() {
  const tree = await api("/api/tree");
  const cameras = [];
  const visit = (town, school) => {
    for (const kitchen of school.kitchens) {
      for (const camera of kitchen.cameras) cameras.push({ ...camera, town, school, kitchen });
    }
  };
  for (const town of tree.towns) for (const school of town.schools) visit(town, school);
  for (const school of tree.direct_schools) visit(null, school);
  return { tree, cameras, byId: new Map(cameras.map((c) => [c.id, c])) };
}

export async function cameraStates() {
  const list = await api("/api/cameras");
  return new Map(list.map((c) => [c.id, c]));
}
