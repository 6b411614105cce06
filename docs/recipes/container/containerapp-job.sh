#!/bin/sh
# Azure Container Apps scheduled job for flowaudit, from a checkout of the flowaudit repository
# (run it from the repository root). The image is built by Azure Container Registry from the
# checkout (no local Docker needed); the job signs in to Graph with a user-assigned managed
# identity. Edit the names below first; FLOWAUDIT_ACR and FLOWAUDIT_STORAGE come from the environment.
set -eu

rg=flowaudit
location=westeurope
registry="${FLOWAUDIT_ACR:?set FLOWAUDIT_ACR to a new registry name (globally unique, a-z0-9)}"
identity=flowaudit
environment=flowaudit-env
storage="${FLOWAUDIT_STORAGE:?set FLOWAUDIT_STORAGE to a new storage account name (globally unique, a-z0-9)}"
share=flowaudit
here="$(cd "$(dirname "$0")" && pwd)"

az group create -n "$rg" -l "$location" -o none
az identity create -g "$rg" -n "$identity" -o none
identity_id="$(az identity show -g "$rg" -n "$identity" --query id -o tsv)"
identity_client_id="$(az identity show -g "$rg" -n "$identity" --query clientId -o tsv)"
identity_principal_id="$(az identity show -g "$rg" -n "$identity" --query principalId -o tsv)"

# Image: built in the registry from this checkout (docs/recipes/container/Dockerfile).
az acr create -g "$rg" -n "$registry" --sku Basic -o none
az acr build -r "$registry" -t flowaudit:0.2.0 -f docs/recipes/container/Dockerfile .
az role assignment create --assignee-object-id "$identity_principal_id" --assignee-principal-type ServicePrincipal \
  --role AcrPull --scope "$(az acr show -n "$registry" --query id -o tsv)" -o none

# Graph permissions: the app roles of docs/auth-setup.md section 4, granted to the identity.
echo "grant the Graph app roles to service principal $identity_principal_id (docs/auth-setup.md, section 4)"

# The share that keeps the nights (baseline, reports, snapshots). Azure Files volumes in Container
# Apps are mounted with the storage account key, stored in the environment, not in the job.
az storage account create -g "$rg" -n "$storage" -l "$location" --sku Standard_LRS \
  --min-tls-version TLS1_2 --allow-blob-public-access false -o none
az storage share-rm create -g "$rg" --storage-account "$storage" -n "$share" --quota 5 -o none
key="$(az storage account keys list -g "$rg" -n "$storage" --query '[0].value' -o tsv)"
# The job's FLOWAUDIT_WAIVERS names /data/waivers.yaml: put the (empty) example there, or every
# night would stop with exit 2 on a missing file. Edit it on the share later.
az storage file upload --account-name "$storage" --account-key "$key" --share-name "$share" \
  --source docs/recipes/systemd/waivers.yaml --path waivers.yaml -o none

az containerapp env create -g "$rg" -n "$environment" -l "$location" -o none
az containerapp env storage set -g "$rg" -n "$environment" --storage-name flowaudit-data \
  --azure-file-account-name "$storage" --azure-file-account-key "$key" \
  --azure-file-share-name "$share" --access-mode ReadWrite -o none
environment_id="$(az containerapp env show -g "$rg" -n "$environment" --query id -o tsv)"

# The job, from containerapp-job.yaml with the placeholders filled in.
job_yaml="$(mktemp)"
trap 'rm -f "$job_yaml"' EXIT
sed -e "s|<location>|$location|g" \
    -e "s|<identity-resource-id>|$identity_id|g" \
    -e "s|<identity-client-id>|$identity_client_id|g" \
    -e "s|<environment-resource-id>|$environment_id|g" \
    -e "s|<registry>|$registry|g" \
    "$here/containerapp-job.yaml" >"$job_yaml"
az containerapp job create -g "$rg" -n flowaudit --yaml "$job_yaml" -o none
echo "created; a first run now: az containerapp job start -g $rg -n flowaudit"
