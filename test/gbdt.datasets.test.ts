/**
 * GBDT accuracy on the three labelled data sets (train on split.csv `train`
 * rows, test on `test` rows) against the README's gbm references, plus
 * TreeSHAP local accuracy and inference identity on real rows.
 */
import { expect, it } from "vitest";
import { DATASETS, loadDataset, rocAuc } from "../bench/gbdt-datasets.js";
import { compileGbdt, compileGbdtCode, predictMargin } from "../components/models/gbdt/compiled.js";
import { predictMarginPlain } from "../components/models/gbdt/model.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { createTreeShap } from "../components/models/gbdt/treeshap.js";
import { describeDatasets } from "./support/datasets.js";

describeDatasets(
  "GBDT on the reference data sets",
  DATASETS.map((d) => d.file),
  () => {
    for (const spec of DATASETS) {
      it(`${spec.name}: test ROC-AUC >= gbm reference ${spec.refGbm} - 0.01, exact SHAP, identical inference`, () => {
        const ds = loadDataset(spec);
        const d = ds.numFeatures;
        const { model } = trainGbdt({ ...ds.train, numFeatures: d, featureNames: ds.featureNames });
        const plain = predictMarginPlain(model, ds.test.x, ds.test.rows);
        const auc = rocAuc(plain, ds.test.y);
        console.log(
          `${spec.name}: ROC-AUC ${auc.toFixed(4)} with ${model.trees.length} trees (gbm ${spec.refGbm})`,
        );
        expect(auc).toBeGreaterThanOrEqual(spec.refGbm - 0.01);

        const fast = predictMargin(compileGbdt(model), ds.test.x, ds.test.rows);
        const code = compileGbdtCode(model).predictMargin(ds.test.x, ds.test.rows);
        let differ = 0;
        for (let r = 0; r < ds.test.rows; r++)
          if (!Object.is(fast[r], plain[r]) || !Object.is(code[r], plain[r])) differ++;
        expect(differ).toBe(0);

        const shap = createTreeShap(model);
        const phi = new Float64Array(d + 1);
        let maxErr = 0;
        for (let r = 0; r < Math.min(300, ds.test.rows); r++) {
          shap.explainRow(ds.test.x, r * d, phi);
          let s = 0;
          for (const p of phi) s += p;
          maxErr = Math.max(maxErr, Math.abs(s - plain[r]));
        }
        expect(maxErr).toBeLessThan(1e-9);
      });
    }
  },
);
