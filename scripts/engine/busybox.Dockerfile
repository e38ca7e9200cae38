# okd-mini's only external image: Debian's busybox-static and its applet links. Made locally by
# okd-build scripts/engine.sh; nothing is pulled. engine.sh builds it as
# localhost/okd-mini/busybox:1.36 from a temporary context holding busybox (busybox-static's
# /bin/busybox), etc/passwd and etc/group.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY etc/passwd etc/group /etc/
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /root /usr/bin /usr/sbin /usr/local/bin /sbin /var/tmp /tmp && chmod 1777 /tmp /var/tmp && chmod 0700 /root"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.k8s.display-name="okd-mini busybox" \
      io.k8s.description="Debian busybox-static with its applets in /bin, made by okd-build scripts/engine.sh"
CMD ["/bin/sh"]
