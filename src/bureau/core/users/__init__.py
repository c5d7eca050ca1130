"""Agents in the directory: `bureau users import` and `bureau users sample`.

The modules, in the order an import uses them:
  reference  the ministries and name lists shipped in bureau/data
  naming     ASCII folding, uid and address rules
  csvinput   reading and validating the whole CSV file first
  plan       matching rows to entries, allocating uids, the difference to apply
  passwords  initial passwords and the 0600 distribution file
  ldapdir    reading the directory and applying a plan (pipelined)
  connect    connection settings from options, the inventory and its vault
  sample     realistic sample CSV files
"""
