/**
 * Named scale-info types of pallet_tfgrid and tfchain_support, with the Rust
 * paths, generic params and typeNames of spec 152 (polkadot-js derives the type
 * names PalletTfgridTwin, TfchainSupportNode ... from these paths).
 */
import { AccountId32 } from '../../metadata/common-types.ts';
import {
  bool, boundedBytes, boundedVec, bytes, enumType, option, param, seq, simpleEnum, struct, u16, u32, u64, u8, type Ty,
} from '../../metadata/scale-info.ts';

const T = { name: 'T', type: null };

export const StorageVersion = simpleEnum(
  'pallet_tfgrid::types::StorageVersion',
  Array.from({ length: 17 }, (_, i) => `V${i + 1}Struct`),
);

export const IP4 = struct('tfchain_support::types::IP4', [
  ['ip', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_IP4_LENGTH>>'],
  ['gw', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_GW4_LENGTH>>'],
]);

export const IP6 = struct('tfchain_support::types::IP6', [
  ['ip', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_IP6_LENGTH>>'],
  ['gw', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_GW6_LENGTH>>'],
]);

export const PublicConfig = struct('tfchain_support::types::PublicConfig', [
  ['ip4', IP4, 'IP4'],
  ['ip6', option(IP6), 'Option<IP6>'],
  ['domain', option(boundedBytes), 'Option<BoundedVec<u8, ConstU32<MAX_DOMAIN_NAME_LENGTH>>>'],
]);

export const PublicIP = struct('tfchain_support::types::PublicIP', [
  ['ip', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_IP4_LENGTH>>'],
  ['gateway', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_GW4_LENGTH>>'],
  ['contract_id', u64, 'u64'],
]);

export const FarmCertification = simpleEnum('tfchain_support::types::FarmCertification', ['NotCertified', 'Gold']);
export const NodeCertification = simpleEnum('tfchain_support::types::NodeCertification', ['Diy', 'Certified']);
export const Power = simpleEnum('tfchain_support::types::Power', ['Up', 'Down']);
export const PowerState = enumType('tfchain_support::types::PowerState', [['Up'], ['Down', [[null, u32, 'B']]]], [param('B', u32)]);
export const NodePower = struct(
  'tfchain_support::types::NodePower',
  [['state', PowerState, 'PowerState<B>'], ['target', Power, 'Power']],
  [param('B', u32)],
);

export const Resources = struct('tfchain_support::resources::Resources', [
  ['hru', u64, 'u64'],
  ['sru', u64, 'u64'],
  ['cru', u64, 'u64'],
  ['mru', u64, 'u64'],
]);

export const FarmingPolicyLimit = struct('tfchain_support::types::FarmingPolicyLimit', [
  ['farming_policy_id', u32, 'u32'],
  ['cu', option(u64), 'Option<u64>'],
  ['su', option(u64), 'Option<u64>'],
  ['end', option(u64), 'Option<u64>'],
  ['node_count', option(u32), 'Option<u32>'],
  ['node_certification', bool, 'bool'],
]);

// ---- call inputs ----

export const LocationInput = struct(
  'pallet_tfgrid::types::LocationInput',
  [
    ['city', boundedBytes, 'City'],
    ['country', boundedBytes, 'Country'],
    ['latitude', boundedBytes, 'Latitude'],
    ['longitude', boundedBytes, 'Longitude'],
  ],
  [param('City', boundedBytes), param('Country', boundedBytes), param('Latitude', boundedBytes), param('Longitude', boundedBytes)],
);

/** tfchain_support::types::Interface<Name, Mac, Ips> for given member types. */
const interfaceOf = (name: Ty, mac: Ty, ips: Ty): Ty =>
  struct('tfchain_support::types::Interface', [['name', name, 'Name'], ['mac', mac, 'Mac'], ['ips', ips, 'Ips']], [
    param('Name', name), param('Mac', mac), param('Ips', ips),
  ]);

export const InterfaceInput = interfaceOf(boundedBytes, boundedBytes, boundedVec(boundedBytes));

// ---- stored newtypes ----

const newtype = (path: string, typeName: string): Ty => struct(path, [[null, boundedBytes, typeName]], [T]);

export const FarmName = newtype('pallet_tfgrid::farm::FarmName', 'BoundedVec<u8, T::MaxFarmNameLength>');
export const CityName = newtype('pallet_tfgrid::node::CityName', 'BoundedVec<u8, ConstU32<MAX_CITY_NAME_LENGTH>>');
export const CountryName = newtype('pallet_tfgrid::node::CountryName', 'BoundedVec<u8, ConstU32<MAX_COUNTRY_NAME_LENGTH>>');
export const SerialNumber = newtype('pallet_tfgrid::node::SerialNumber', 'BoundedVec<u8, ConstU32<MAX_SERIAL_NUMBER_LENGTH>>');
export const InterfaceName = newtype('pallet_tfgrid::interface::InterfaceName', 'BoundedVec<u8, ConstU32<MAX_INTF_NAME_LENGTH>>');
export const InterfaceMac = newtype('pallet_tfgrid::interface::InterfaceMac', 'BoundedVec<u8, ConstU32<INTERFACE_MAC_LENGTH>>');
export const InterfaceIp = newtype('pallet_tfgrid::interface::InterfaceIp', 'BoundedVec<u8, ConstU32<MAX_INTERFACE_IP_LENGTH>>');

export const Location = struct(
  'pallet_tfgrid::node::Location',
  [
    ['city', CityName, 'CityName<T>'],
    ['country', CountryName, 'CountryName<T>'],
    ['latitude', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_LATITUDE_LENGTH>>'],
    ['longitude', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_LONGITUDE_LENGTH>>'],
  ],
  [T],
);

export const Interface = interfaceOf(InterfaceName, InterfaceMac, boundedVec(InterfaceIp));

export const Farm = struct(
  'tfchain_support::types::Farm',
  [
    ['version', u32, 'u32'],
    ['id', u32, 'u32'],
    ['name', FarmName, 'Name'],
    ['twin_id', u32, 'u32'],
    ['pricing_policy_id', u32, 'u32'],
    ['certification', FarmCertification, 'FarmCertification'],
    ['public_ips', boundedVec(PublicIP), 'BoundedVec<PublicIP, ConstU32<256>>'],
    ['dedicated_farm', bool, 'bool'],
    ['farming_policy_limits', option(FarmingPolicyLimit), 'Option<FarmingPolicyLimit>'],
  ],
  [param('Name', FarmName)],
);

export const Node = struct(
  'tfchain_support::types::Node',
  [
    ['version', u32, 'u32'],
    ['id', u32, 'u32'],
    ['farm_id', u32, 'u32'],
    ['twin_id', u32, 'u32'],
    ['resources', Resources, 'Resources'],
    ['location', Location, 'Location'],
    ['public_config', option(PublicConfig), 'Option<PublicConfig>'],
    ['created', u64, 'u64'],
    ['farming_policy_id', u32, 'u32'],
    ['interfaces', seq(Interface), 'Vec<If>'],
    ['certification', NodeCertification, 'NodeCertification'],
    ['secure_boot', bool, 'bool'],
    ['virtualized', bool, 'bool'],
    ['serial_number', option(SerialNumber), 'Option<SerialNumber>'],
    ['connection_price', u32, 'u32'],
  ],
  [param('Location', Location), param('If', Interface), param('SerialNumber', SerialNumber)],
);

export const Entity = struct(
  'pallet_tfgrid::types::Entity',
  [
    ['version', u32, 'u32'],
    ['id', u32, 'u32'],
    ['name', bytes, 'Vec<u8>'],
    ['account_id', AccountId32, 'AccountId'],
    ['country', CountryName, 'Country'],
    ['city', CityName, 'City'],
  ],
  [param('AccountId', AccountId32), param('City', CityName), param('Country', CountryName)],
);

export const EntityProof = struct('pallet_tfgrid::types::EntityProof', [['entity_id', u32, 'u32'], ['signature', bytes, 'Vec<u8>']]);

export const Twin = struct(
  'pallet_tfgrid::types::Twin',
  [
    ['id', u32, 'u32'],
    ['account_id', AccountId32, 'AccountId'],
    ['relay', option(boundedBytes), 'Option<BoundedVec<u8, ConstU32<MAX_RELAY_LENGTH>>>'],
    ['entities', seq(EntityProof), 'Vec<EntityProof>'],
    ['pk', option(boundedBytes), 'Option<BoundedVec<u8, ConstU32<MAX_PK_LENGTH>>>'],
  ],
  [param('AccountId', AccountId32)],
);

export const Unit = simpleEnum('pallet_tfgrid::types::Unit', ['Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terrabytes']);
export const Policy = struct('pallet_tfgrid::types::Policy', [['value', u32, 'u32'], ['unit', Unit, 'Unit']]);

export const PricingPolicy = struct(
  'pallet_tfgrid::types::PricingPolicy',
  [
    ['version', u32, 'u32'],
    ['id', u32, 'u32'],
    ['name', bytes, 'Vec<u8>'],
    ['su', Policy, 'Policy'],
    ['cu', Policy, 'Policy'],
    ['nu', Policy, 'Policy'],
    ['ipu', Policy, 'Policy'],
    ['unique_name', Policy, 'Policy'],
    ['domain_name', Policy, 'Policy'],
    ['foundation_account', AccountId32, 'AccountId'],
    ['certified_sales_account', AccountId32, 'AccountId'],
    ['discount_for_dedication_nodes', u8, 'u8'],
  ],
  [param('AccountId', AccountId32)],
);

export const FarmingPolicy = struct(
  'pallet_tfgrid::types::FarmingPolicy',
  [
    ['version', u32, 'u32'],
    ['id', u32, 'u32'],
    ['name', bytes, 'Vec<u8>'],
    ['cu', u32, 'u32'],
    ['su', u32, 'u32'],
    ['nu', u32, 'u32'],
    ['ipv4', u32, 'u32'],
    ['minimal_uptime', u16, 'u16'],
    ['policy_created', u32, 'BlockNumber'],
    ['policy_end', u32, 'BlockNumber'],
    ['immutable', bool, 'bool'],
    ['default', bool, 'bool'],
    ['node_certification', NodeCertification, 'NodeCertification'],
    ['farm_certification', FarmCertification, 'FarmCertification'],
  ],
  [param('BlockNumber', u32)],
);

export const TermsAndConditions = struct(
  'pallet_tfgrid::terms_cond::TermsAndConditions',
  [
    ['account_id', AccountId32, 'T::AccountId'],
    ['timestamp', u64, 'u64'],
    ['document_link', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_DOCUMENT_LINK_LENGTH>>'],
    ['document_hash', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_DOCUMENT_HASH_LENGTH>>'],
  ],
  [T],
);
