import type { DatasetSchema } from "../../components/common/schema/types.js";

/**
 * A BankChurners-shaped training schema for serving tests and benchmarks:
 * numeric, categorical (with a missing token), boolean features, plus one
 * column of every ignored role (id, label, pii, passthrough, exclude).
 */
export function testSchema(): DatasetSchema {
  return {
    version: 1,
    idColumn: "CLIENTNUM",
    generatedId: false,
    label: { column: "Attrition_Flag", positive: "Attrited Customer" },
    source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
    columns: [
      { name: "CLIENTNUM", type: "categorical", role: "id", missingTokens: [] },
      {
        name: "Attrition_Flag",
        type: "categorical",
        role: "label",
        missingTokens: [],
        categories: ["Attrited Customer", "Existing Customer"],
      },
      { name: "Customer_Age", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      { name: "Gender", type: "categorical", role: "feature", missingTokens: [""], categories: ["F", "M"] },
      { name: "Dependent_count", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      {
        name: "Education_Level",
        type: "categorical",
        role: "feature",
        missingTokens: ["", "Unknown"],
        categories: ["College", "Doctorate", "Graduate", "High School", "Post-Graduate", "Uneducated"],
      },
      {
        name: "Income_Category",
        type: "categorical",
        role: "feature",
        missingTokens: ["", "Unknown"],
        categories: ["$120K +", "$40K - $60K", "$60K - $80K", "$80K - $120K", "Less than $40K"],
      },
      { name: "Months_on_book", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      {
        name: "Months_Inactive_12_mon",
        type: "numeric",
        role: "feature",
        missingTokens: [""],
        integer: true,
      },
      { name: "Total_Revolving_Bal", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      { name: "Total_Trans_Amt", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      { name: "Total_Trans_Ct", type: "numeric", role: "feature", missingTokens: [""], integer: true },
      { name: "Avg_Utilization_Ratio", type: "numeric", role: "feature", missingTokens: [""] },
      {
        name: "Has_Mobile_App",
        type: "boolean",
        role: "feature",
        missingTokens: [""],
        trueValues: ["Yes"],
        falseValues: ["No"],
      },
      { name: "Email", type: "categorical", role: "pii", missingTokens: [""] },
      { name: "Region", type: "categorical", role: "passthrough", missingTokens: [""] },
      { name: "Naive_Bayes_Classifier_1", type: "numeric", role: "exclude", missingTokens: [""] },
    ],
  };
}
