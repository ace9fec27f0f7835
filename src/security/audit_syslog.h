/* Send one signed audit anchor line to syslog (LOG_AUTHPRIV | LOG_INFO). */
#ifndef FK_SECURITY_AUDIT_SYSLOG_H
#define FK_SECURITY_AUDIT_SYSLOG_H

void audit_syslog(const char *line);

#endif
